// Reads config.yaml: YAML syntax errors and schema problems are reported together, one line each,
// with the line they are on, in a single OtpBackupError('config') (exit code 2).
import {
  Composer,
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  Parser,
  type YAMLMap,
  YAMLParseError,
} from 'yaml';
import { OtpBackupError } from '../errors.js';
import { readConfigText } from './cache.js';
import { configPath } from './paths.js';
import { formatPath, type Path, type Problem, validate } from './schema.js';
import type { Config } from './types.js';

export interface ParsedDocument {
  doc: Document.Parsed;
  lines: LineCounter;
  /** The offset after which errors were no longer collected (MAX_YAML_ERRORS reached). */
  stoppedAt?: number;
}

/**
 * Syntax errors after which the rest of a file is not read. The message lists 20 anyway, and the
 * library spends ~5 µs of CPU per error (an Error each, with its stack): 200 kB of "{}{}" is 200 000
 * errors and 5 s. Past this many, the file is not a config with a typo.
 */
export const MAX_YAML_ERRORS = 100;

/**
 * parseDocument(), with two costs taken out: it stops after MAX_YAML_ERRORS error tokens, and keys
 * are checked for duplicates here with a Set per map (the library compares each new key with every
 * earlier one: 20 000 keys took 8 s).
 */
function composeDocument(text: string, lines: LineCounter): { doc: Document.Parsed; stoppedAt?: number } {
  const options = {
    prettyErrors: false,
    keepSourceTokens: false,
    logLevel: 'error',
    uniqueKeys: false,
  } as const;
  const composer = new Composer(options);
  let doc: Document.Parsed | undefined;
  let second: Document.Parsed | undefined;
  let errors = 0;
  let stoppedAt: number | undefined;
  const take = (d: Document.Parsed) => {
    if (!doc) doc = d;
    else second ??= d;
  };
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    for (const d of composer.next(token)) take(d);
    if (second) break;
    if (token.type === 'error' && ++errors >= MAX_YAML_ERRORS) {
      stoppedAt = token.offset;
      break;
    }
  }
  for (const d of composer.end(true, stoppedAt ?? text.length)) take(d);
  // `end(true)` always yields a document when none came before.
  const parsed = doc as Document.Parsed;
  if (second) {
    // As parseDocument() says it, where the second document starts.
    parsed.errors.push(
      new YAMLParseError(
        [second.range[0], second.range[1]],
        'MULTIPLE_DOCS',
        'Source contains multiple documents; please use YAML.parseAllDocuments()',
      ),
    );
  }
  const dups = duplicateKeys(parsed, MAX_YAML_ERRORS + 1);
  parsed.errors.push(...dups);
  parsed.errors.sort((a, b) => a.pos[0] - b.pos[0]);
  if (parsed.errors.length > MAX_YAML_ERRORS) {
    stoppedAt = Math.min(stoppedAt ?? text.length, parsed.errors[MAX_YAML_ERRORS]!.pos[0]);
    parsed.errors.length = MAX_YAML_ERRORS;
  }
  return stoppedAt === undefined ? { doc: parsed } : { doc: parsed, stoppedAt };
}

/** A DUPLICATE_KEY error for each key equal to an earlier one of its map (the library's rule), at most `limit`. */
function duplicateKeys(doc: Document.Parsed, limit: number): YAMLParseError[] {
  const out: YAMLParseError[] = [];
  // Iterative: a deeply nested document must not overflow the stack here.
  const todo: unknown[] = [doc.contents];
  while (todo.length && out.length < limit) {
    const node = todo.pop();
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          if (seen.has(key.value)) {
            const at = key.range?.[0] ?? 0;
            out.push(new YAMLParseError([at, at + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
          }
          seen.add(key.value);
        } else if (key) todo.push(key);
        todo.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) todo.push(item);
    }
  }
  return out;
}

/** Throws OtpBackupError('config') naming `path` when the library itself fails (see below). */
export function parseYaml(text: string, path = 'config file'): ParsedDocument {
  const lines = new LineCounter();
  // Duplicate keys are errors; prettyErrors off keeps messages on one line. logLevel 'error': the
  // library's warnings (e.g. a mapping used as a key) would go to stderr as multi-line process
  // warnings; such a key is reported by the schema as an unknown key instead.
  try {
    return { ...composeDocument(text, lines), lines };
  } catch (e) {
    // The parser recurses: very deep nesting overflows the stack (RangeError) instead of erroring.
    const why = e instanceof RangeError ? 'nested too deeply' : String((e as Error).message).split('\n')[0];
    throw configProblemsError(path, [`YAML syntax: the document cannot be read (${why})`]);
  }
}

/** Each map's pairs by key, built on the first look-up: a file with thousands of problems in one
 * map would otherwise scan the map once per problem. */
const pairIndex = new WeakMap<YAMLMap, Map<unknown, Pair>>();

function pairOf(map: YAMLMap, seg: unknown): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      if (!isPair(p)) continue;
      const k = isScalar(p.key) ? p.key.value : p.key;
      if (!index.has(k)) index.set(k, p); // the first, as a scan would find
    }
    pairIndex.set(map, index);
  }
  return index.get(seg);
}

/** The node at `path` (or, with atKey, the key naming its last segment), for its line number. */
function nodeAt(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = pairOf(node, seg);
      if (!pair) return last;
      if (atKey && i === path.length - 1 && isScalar(pair.key)) return pair.key;
      // A key with no value ("port:") has no value node; its key still has a line.
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return last;
    }
    if (node && typeof node === 'object' && 'range' in node) last = node as Node;
  }
  return last;
}

export function lineOf(parsed: ParsedDocument, path: Path, atKey = false): number | undefined {
  const node = nodeAt(parsed.doc, path, atKey);
  const offset = node?.range?.[0];
  return offset === undefined ? undefined : parsed.lines.linePos(offset).line;
}

function problemText(p: Problem, line: number | undefined): string {
  return `${formatPath(p.path)}: ${p.message}${line === undefined ? '' : ` (line ${line})`}`;
}

export function configProblemsError(path: string, problems: string[]): OtpBackupError {
  const n = problems.length;
  // A broken file can have thousands of problems: the message lists the first few (details has all).
  const MAX_LISTED = 20;
  const listed = problems.slice(0, MAX_LISTED).map((p) => (p.length > 300 ? `${p.slice(0, 300)}…` : p));
  if (n > MAX_LISTED) listed.push(`and ${n - MAX_LISTED} more`);
  return new OtpBackupError('config', `${path}: ${n} problem${n === 1 ? '' : 's'}: ${listed.join('; ')}`, {
    hint: 'fix the listed fields (each names its path and line) and run again',
    details: problems,
  });
}

/** Problems of a parsed document, each one line with its line number; empty when valid. */
export function checkDocument(parsed: ParsedDocument, path: string): { config: Config; problems: string[] } {
  const problems: string[] = [];
  for (const e of parsed.doc.errors) {
    const line = e.linePos?.[0]?.line ?? parsed.lines.linePos(e.pos[0]).line;
    problems.push(
      `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')} (line ${line})`,
    );
  }
  if (parsed.stoppedAt !== undefined) {
    const line = parsed.lines.linePos(parsed.stoppedAt).line;
    problems.push(
      `YAML syntax: more than ${MAX_YAML_ERRORS} errors; those after line ${line} are not listed`,
    );
  }
  if (problems.length) return { config: { path, accounts: {}, jobs: {} }, problems };
  let raw: unknown;
  try {
    raw = parsed.doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The yaml library throws (ReferenceError, TypeError) for alias bombs and aliases to nothing.
    problems.push(`YAML: ${String((e as Error).message ?? e).split('\n')[0]} (aliases "*name")`);
    return { config: { path, accounts: {}, jobs: {} }, problems };
  }
  const { config, problems: schemaProblems } = validate(raw, path);
  // In file order, so the list reads top to bottom like the file.
  const withLines = schemaProblems.map((p) => ({ p, line: lineOf(parsed, p.path, p.atKey) }));
  withLines.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  for (const { p, line } of withLines) problems.push(problemText(p, line));
  return { config, problems };
}

/** Parses and validates config text; throws one OtpBackupError listing every problem. */
export function parseConfig(text: string, path: string): Config {
  const { config, problems } = checkDocument(parseYaml(text, path), path);
  if (problems.length) throw configProblemsError(path, problems);
  return config;
}

/** Reads the config file; a missing file is an empty config (first run). */
export async function loadConfig(env: NodeJS.ProcessEnv, override?: string): Promise<Config> {
  const path = configPath(env, override);
  const text = await readConfigText(path);
  if (text === undefined) return { path, accounts: {}, jobs: {} };
  return parseConfig(text, path);
}
