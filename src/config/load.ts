// Reads config.yaml: YAML syntax errors and schema problems are reported together, one line each,
// with the line they are on, in a single OtpBackupError('config') (exit code 2).
import { readFile } from 'node:fs/promises';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { OtpBackupError } from '../errors.js';
import { configPath } from './paths.js';
import { formatPath, type Path, type Problem, validate } from './schema.js';
import type { Config } from './types.js';

export interface ParsedDocument {
  doc: Document.Parsed;
  lines: LineCounter;
}

export function parseYaml(text: string): ParsedDocument {
  const lines = new LineCounter();
  // Duplicate keys are errors (uniqueKeys default); prettyErrors off keeps messages on one line.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, keepSourceTokens: false });
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
  return new OtpBackupError('config', `${path}: ${n} problem${n === 1 ? '' : 's'}: ${problems.join('; ')}`, {
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
  const { config, problems: schemaProblems } = validate(parsed.doc.toJS({ maxAliasCount: 100 }), path);
  // In file order, so the list reads top to bottom like the file.
  const withLines = schemaProblems.map((p) => ({ p, line: lineOf(parsed, p.path, p.atKey) }));
  withLines.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  for (const { p, line } of withLines) problems.push(problemText(p, line));
  return { config, problems };
}

/** Parses and validates config text; throws one OtpBackupError listing every problem. */
export function parseConfig(text: string, path: string): Config {
  const { config, problems } = checkDocument(parseYaml(text), path);
  if (problems.length) throw configProblemsError(path, problems);
  return config;
}

/** Reads the config file; a missing file is an empty config (first run). */
export async function loadConfig(env: NodeJS.ProcessEnv, override?: string): Promise<Config> {
  const path = configPath(env, override);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { path, accounts: {}, jobs: {} };
    throw new OtpBackupError('config', `cannot read config file ${path}: ${code ?? (e as Error).message}`, {
      hint: code === 'EACCES' ? 'check the file permissions' : 'check the --config path',
    });
  }
  return parseConfig(text, path);
}
