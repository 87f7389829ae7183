// Seeded generators for the fuzz tests: a tiny PRNG (mulberry32) and mutations of valid inputs.
// Every case is a pure function of (seed, index), so a failure reproduces with
// FUZZ_SEED=<seed> and the printed index; FUZZ_CASES sets how many cases each target runs.
import assert from 'node:assert/strict';

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/**
 * The run's seed: fixed by default so that CI is repeatable; FUZZ_SEED=N picks another,
 * FUZZ_SEED=random a fresh one for exploring (printed on failure either way).
 */
const DEFAULT_SEED = 20261123;
export const SEED: number =
  process.env.FUZZ_SEED === 'random'
    ? (Math.random() * 2 ** 32) >>> 0
    : process.env.FUZZ_SEED
      ? Number(process.env.FUZZ_SEED) >>> 0
      : DEFAULT_SEED;

/** Cases per target: FUZZ_CASES or the default. */
export function caseCount(def = 10_000): number {
  const n = Number(process.env.FUZZ_CASES);
  return Number.isInteger(n) && n > 0 ? n : def;
}

/** A generator for case `index` of a target: independent of every other case. */
export function rngFor(target: string, index: number, seed = SEED): Rng {
  let h = 2166136261 ^ seed;
  for (const c of `${target}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return new Rng(h >>> 0);
}

/** Characters chosen to break parsers: controls, separators, Unicode edge cases. */
export const NASTY: readonly string[] = [
  '\0',
  '\r',
  '\n',
  '\r\n',
  '\t',
  '\v',
  '\f',
  '\x1b',
  '\x7f',
  ' ',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u200b', // zero width space
  '\u200f', // RTL mark
  '\u202e', // RTL override
  '\u0627\u0644', // Arabic
  '\u05d0', // Hebrew
  'e\u0301', // combining acute
  '\u0301', // lone combining
  '\ufeff', // BOM
  '\ufffd',
  '\ud83d\ude00', // astral (emoji)
  '\ud800', // lone high surrogate
  '\udc00', // lone low surrogate
  '\u{10ffff}',
  'ß',
  'İ',
  '\\',
  '/',
  '..',
  '../',
  '..\\',
  '-',
  '--',
  '$',
  '${',
  '$<',
  '}',
  '%',
  '%00',
  '%zz',
  '%0a',
  '?',
  '#',
  '&',
  '=',
  ':',
  '@',
  '[',
  ']',
  '{',
  '(',
  ')',
  '*',
  '+',
  '|',
  '"',
  "'",
  '`',
  '~',
  '!',
  '&&',
  '<<',
  '*/',
];

/** Numbers at the edges, as text. */
export const EDGE_NUMBERS: readonly string[] = [
  '0',
  '-0',
  '-1',
  '1',
  '6',
  '7',
  '8',
  '9',
  '10',
  '30',
  '59',
  '60',
  '61',
  '255',
  '256',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740991',
  '9007199254740993',
  '1e308',
  '1e309',
  '-1e309',
  'NaN',
  'Infinity',
  '0x10',
  '0o7',
  '1.5',
  '.5',
  '1e3',
  '00000000000000000000000001',
  '99999999999999999999999999999999',
];

export function randomChar(r: Rng): string {
  switch (r.int(6)) {
    case 0:
      return String.fromCharCode(r.range(0x20, 0x7e));
    case 1:
      return String.fromCharCode(r.int(0x20));
    case 2:
      return r.pick(NASTY);
    case 3:
      return String.fromCharCode(r.range(0x80, 0xffff)); // may be a lone surrogate: on purpose
    case 4:
      return String.fromCodePoint(r.range(0x10000, 0x10ffff));
    default:
      return r.pick('abcxyzABCXYZ0123456789 '.split(''));
  }
}

export function randomString(r: Rng, maxLen = 40): string {
  const n = r.int(maxLen + 1);
  let s = '';
  for (let i = 0; i < n; i++) s += randomChar(r);
  return s;
}

/** A huge string: a repeated fragment (long inputs must stay fast). */
export function huge(r: Rng, base = 'a'): string {
  return (base || 'a').repeat(r.pick([1_000, 1_000, 10_000, 100_000]));
}

/** Splits into tokens (runs of word characters, and single other characters) for swaps. */
function tokens(s: string): string[] {
  return s.match(/\w+|[^\w]/gu) ?? [];
}

/** One structured mutation of `s`. */
export function mutateOnce(r: Rng, s: string, dict: readonly string[] = []): string {
  const at = r.int(s.length + 1);
  const del = r.range(1, 4);
  const extra = dict.length && r.bool(0.4) ? r.pick(dict) : r.bool(0.5) ? r.pick(NASTY) : randomChar(r);
  switch (r.int(9)) {
    case 0: // insert
      return s.slice(0, at) + extra + s.slice(at);
    case 1: // delete
      return s.slice(0, at) + s.slice(at + del);
    case 2: // replace
      return s.slice(0, at) + extra + s.slice(at + del);
    case 3: {
      // swap two tokens
      const t = tokens(s);
      if (t.length < 2) return s + extra;
      const i = r.int(t.length);
      const j = r.int(t.length);
      [t[i], t[j]] = [t[j]!, t[i]!];
      return t.join('');
    }
    case 4: // duplicate a slice
      return s.slice(0, at) + s.slice(at, at + r.range(1, 20)).repeat(r.range(2, 50)) + s.slice(at);
    case 5: // truncate
      return s.slice(0, at);
    case 6: // a number at the edge in place of a digit run
      return s.replace(/\d+/, r.pick(EDGE_NUMBERS));
    case 7: // huge (rarely: long inputs are slow to generate, and one per few hundred cases is enough)
      return r.bool(0.1) ? s.slice(0, at) + huge(r, extra) + s.slice(at) : s + extra;
    default: // case flip
      return s.slice(0, at) + s.slice(at, at + del).toUpperCase() + s.slice(at + del);
  }
}

/** 1–4 mutations of a valid input, or (sometimes) a purely random string. */
export function fuzzFrom(r: Rng, valid: readonly string[], dict: readonly string[] = []): string {
  if (r.bool(0.1)) return randomString(r, r.bool(0.9) ? 40 : 400);
  let s = r.pick(valid);
  const n = r.range(1, 4);
  for (let i = 0; i < n; i++) s = mutateOnce(r, s, dict);
  return s;
}

export interface Outcome {
  /** How many cases ended each way, for the report. */
  counts: Record<string, number>;
  ms: number;
  cases: number;
}

/**
 * Runs `cases` cases of a target. `check` gets a fresh Rng per case and returns the kind of outcome
 * ("ok", "error", ...) or throws an assertion error. A case that takes more than `budgetMs` of CPU
 * time fails (CPU, not wall time: a busy machine must not fail it; a hang in synchronous code cannot
 * be interrupted, but the test timeout bounds it and the slowness is named).
 */
export async function fuzz(
  target: string,
  cases: number,
  check: (r: Rng, index: number) => string | Promise<string>,
  budgetMs = 1000,
): Promise<Outcome> {
  const counts: Record<string, number> = {};
  const t0 = performance.now();
  // FUZZ_INDEX=i replays one case (with the FUZZ_SEED printed by the failure).
  const only = process.env.FUZZ_INDEX === undefined ? undefined : Number(process.env.FUZZ_INDEX);
  for (let i = only ?? 0; i < (only === undefined ? cases : only + 1); i++) {
    const start = process.cpuUsage();
    let kind: string;
    try {
      kind = await check(rngFor(target, i), i);
    } catch (e) {
      const m = e instanceof Error ? e.message : String(e);
      assert.fail(`${target}: case ${i} failed (reproduce with FUZZ_SEED=${SEED}): ${m}`);
    }
    const used = process.cpuUsage(start);
    const took = (used.user + used.system) / 1000;
    if (took > budgetMs) {
      assert.fail(
        `${target}: case ${i} took ${Math.round(took)} ms of CPU (> ${budgetMs} ms budget; FUZZ_SEED=${SEED})`,
      );
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  const ms = Math.round(performance.now() - t0);
  if (process.env.FUZZ_REPORT) {
    process.stderr.write(`fuzz ${target}: ${cases} cases in ${ms} ms ${JSON.stringify(counts)}\n`);
  }
  return { counts, ms, cases };
}

/** The shape every rejected input must have: an error of the expected class and code, one line. */
export function expectOneLine(
  e: unknown,
  ctor: new (...a: never[]) => Error,
  codes: readonly string[],
): string {
  if (!(e instanceof ctor)) {
    throw new Error(
      `expected ${ctor.name}, got ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}\n${(e as Error)?.stack ?? ''}`,
    );
  }
  const code = (e as unknown as { code?: string }).code ?? '';
  if (codes.length && !codes.includes(code))
    throw new Error(`expected code ${codes.join('|')}, got ${code}: ${e.message}`);
  if (/[\r\n]/.test(e.message)) throw new Error(`multi-line message: ${JSON.stringify(e.message)}`);
  return code;
}

/** Describes an input briefly for a failure message (never more than 200 characters). */
export function show(s: string): string {
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…(${s.length})` : s);
}
