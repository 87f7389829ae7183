// Reads config.yaml: YAML syntax errors and schema problems are reported together, one line each,
// with the line they are on, in a single OtpBackupError('config') (exit code 2).
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { OtpBackupError } from '../errors.js';
import { readConfigText } from './cache.js';
import { configPath } from './paths.js';
import { formatPath, type Path, type Problem, validate } from './schema.js';
import type { Config } from './types.js';

export interface ParsedDocument {
  doc: Document.Parsed;
  lines: LineCounter;
}

/** Throws OtpBackupError('config') naming `path` when the library itself fails (see below). */
export function parseYaml(text: string, path = 'config file'): ParsedDocument {
  const lines = new LineCounter();
  // Duplicate keys are errors (uniqueKeys default); prettyErrors off keeps messages on one line.
  // logLevel 'error': the library's warnings (e.g. a mapping used as a key) would go to stderr as
  // multi-line process warnings; such a key is reported by the schema as an unknown key instead.
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      keepSourceTokens: false,
      logLevel: 'error',
    });
  } catch (e) {
    // The parser recurses: very deep nesting overflows the stack (RangeError) instead of erroring.
    const why = e instanceof RangeError ? 'nested too deeply' : String((e as Error).message).split('\n')[0];
    throw configProblemsError(path, [`YAML syntax: the document cannot be read (${why})`]);
  }
  return { doc, lines };
}

/** The node at `path` (or, with atKey, the key naming its last segment), for its line number. */
function nodeAt(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === seg);
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
