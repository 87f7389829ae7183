// The vocabulary of the config schema: a field is described once (kind, bounds, default, help) and
// that description gives its TypeScript type (Infer), its reader (Reader.field: every problem
// collected, none thrown), its place in the saved YAML (table order) and the bounds flag parsers and
// prompts check against. The tables themselves are in schema.ts.
import { splitWords } from '../argv.js';
import { usageError } from '../errors.js';
import { isSecretRef, type SecretRef } from '../secrets/ref.js';
import { parseRate } from '../transport/bwlimit.js';

export type Path = (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  /** Point at the key itself (unknown keys) rather than its value. */
  atKey?: boolean;
}

interface Base {
  /** One line of help: what the field is for (docs, --help of the flags that set it). */
  doc: string;
  /** Absent from the normalised value when not set (no default). */
  optional?: true;
  /** Must be present in the YAML. */
  required?: true;
}

/** One field. `section` nests a table; `custom` fields are read by hand in schema.ts (lists of rules, ...). */
export type FieldSpec =
  | (Base & { kind: 'string'; default?: string })
  | (Base & { kind: 'int'; min: number; max: number; default?: number })
  | (Base & { kind: 'number'; above: number; default?: number })
  | (Base & { kind: 'bool'; default?: boolean })
  | (Base & { kind: 'enum'; options: readonly string[]; default?: string })
  /** A list of strings; `single`: a lone string is a list of one. */
  | (Base & { kind: 'list'; single?: true })
  /** A secret reference (never a value). */
  | (Base & { kind: 'ref' })
  /** A program: an argv list, or one string split like a shell would. */
  | (Base & { kind: 'command' })
  /** Bytes per second: a number, or "500k" / "1M" / "1.5G"; 0 or "off" = no limit. */
  | (Base & { kind: 'rate' })
  | (Base & { kind: 'section'; fields: Table })
  | (Base & { kind: 'custom'; type?: unknown });

export type Table = Readonly<Record<string, FieldSpec>>;

/** A field of type T read by hand in schema.ts (lists of rules, maps of accounts), always present. */
export function custom<T>(doc: string) {
  return { kind: 'custom', doc } as { kind: 'custom'; doc: string; type?: T };
}

/** As custom(), absent when not set. */
export function optionalCustom<T>(doc: string) {
  return { kind: 'custom', doc, optional: true } as { kind: 'custom'; doc: string; optional: true; type?: T };
}

/** The normalised TypeScript type of one field. */
export type Value<F> = F extends { kind: 'string' }
  ? string
  : F extends { kind: 'int' | 'number' | 'rate' }
    ? number
    : F extends { kind: 'bool' }
      ? boolean
      : F extends { kind: 'enum'; options: readonly (infer O)[] }
        ? O
        : F extends { kind: 'list' | 'command' }
          ? string[]
          : F extends { kind: 'ref' }
            ? SecretRef
            : F extends { kind: 'section'; fields: infer T }
              ? Infer<T>
              : F extends { kind: 'custom'; type?: infer T }
                ? T
                : never;

type OptionalKeys<T> = { [K in keyof T]: T[K] extends { optional: true } ? K : never }[keyof T];
type Flatten<T> = { [K in keyof T]: T[K] };

/** The normalised type a table describes: `optional` fields may be absent, the others are always set. */
export type Infer<T> = Flatten<
  { -readonly [K in Exclude<keyof T, OptionalKeys<T>>]: Value<T[K]> } & {
    -readonly [K in OptionalKeys<T>]?: Value<T[K]>;
  }
>;

/** The defaults of a table, by key (fields without one are left out). */
export function defaultsOf(table: Table): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(table))
    if ('default' in f && f.default !== undefined) out[k] = f.default;
  return out;
}

export function formatPath(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function didYouMean(word: string, options: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const o of options) {
    const d = levenshtein(w, o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** A value as shown in a message: short, and safe for what YAML can build (cycles via aliases). */
export function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined; // a cycle ("&a [*a]") or a BigInt
  }
  if (s === undefined) return typeName(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** The one-line rule of a range, as messages and flag errors say it. */
export function rangeText(min: number, max: number): string {
  return max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `${min}–${max}`;
}

/** Field readers that record problems and return undefined instead of throwing. */
export class Reader {
  readonly problems: Problem[] = [];

  add(path: Path, message: string, atKey = false): void {
    this.problems.push({ path, message, atKey });
  }

  /** Checks `v` is a mapping whose keys are all in `allowed`; null counts as empty. */
  obj(v: unknown, path: Path, allowed: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      this.add(path, `expected a mapping, got ${typeName(v)}`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (allowed.includes(k)) continue;
      const near = didYouMean(k, allowed);
      this.add(
        [...path, k],
        `unknown key${near ? ` (did you mean "${near}"?)` : ''}; known keys: ${allowed.join(', ')}`,
        true,
      );
    }
    return v;
  }

  /** A mapping checked against a table's keys. */
  section(v: unknown, path: Path, table: Table): Obj | undefined {
    return this.obj(v, path, Object.keys(table));
  }

  /**
   * Reads `key` of `o` as its spec says (bounds may be narrowed by `override`, e.g. a margin below the
   * period). Undefined when absent or wrong; a missing `required` field is a problem. No defaults.
   */
  field<F extends FieldSpec>(
    o: Obj,
    key: string,
    spec: F,
    path: Path,
    override?: { max?: number },
  ): Value<F> | undefined {
    return this.read(o, key, spec, path, override) as Value<F> | undefined;
  }

  private read(o: Obj, key: string, spec: FieldSpec, path: Path, override?: { max?: number }): unknown {
    switch (spec.kind) {
      case 'string':
        return this.str(o, key, path, spec.required === true);
      case 'int':
        return this.int(o, key, path, spec.min, override?.max ?? spec.max);
      case 'number':
        return this.num(o, key, path, spec.above);
      case 'bool':
        return this.bool(o, key, path);
      case 'enum':
        return this.oneOf(o, key, path, spec.options);
      case 'list':
        return this.strList(o, key, path, spec.single === true);
      case 'ref':
        return this.ref(o, key, path);
      case 'command':
        return o[key] == null ? undefined : this.command(o, key, path);
      case 'rate':
        return this.rate(o, key, path);
      default:
        throw new Error(`${formatPath([...path, key])}: a ${spec.kind} field is read by hand`);
    }
  }

  str(o: Obj, key: string, path: Path, required = false): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.add([...path, key], 'required');
      return undefined;
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') {
      this.add([...path, key], `expected a string, got ${typeName(v)}`);
      return undefined;
    }
    if (required && v.trim() === '') this.add([...path, key], 'must not be empty');
    return v;
  }

  int(o: Obj, key: string, path: Path, min: number, max: number): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.add([...path, key], `expected ${rangeText(min, max)}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  /** A bandwidth: bytes per second as a number, or "500k" / "1M" / "1.5G"; 0 or "off" = no limit. */
  rate(o: Obj, key: string, path: Path): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const r =
      typeof v === 'number' && Number.isFinite(v) && v >= 0
        ? Math.floor(v)
        : typeof v === 'string'
          ? parseRate(v)
          : undefined;
    if (r === undefined) {
      this.add(
        [...path, key],
        `expected bytes per second such as 500k, 1M or 1.5G (0 = no limit), got ${show(v)}`,
      );
      return undefined;
    }
    return r;
  }

  num(o: Obj, key: string, path: Path, min: number): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= min) {
      this.add([...path, key], `expected a number > ${min}, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  bool(o: Obj, key: string, path: Path): boolean | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.add([...path, key], `expected true or false, got ${show(v)}`);
      return undefined;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, path: Path, options: readonly T[]): T | undefined {
    const v = this.str(o, key, path);
    if (v === undefined) return undefined;
    if (!(options as readonly string[]).includes(v)) {
      const near = didYouMean(v, options);
      this.add(
        [...path, key],
        `expected one of ${options.join(', ')}, got "${v}"${near ? ` (did you mean "${near}"?)` : ''}`,
      );
      return undefined;
    }
    return v as T;
  }

  /** A list of strings; a single string is accepted as a list of one when `single` is set. */
  strList(o: Obj, key: string, path: Path, single = false): string[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (single && typeof v === 'string') return [v];
    if (!Array.isArray(v)) {
      this.add([...path, key], `expected a list of strings, got ${typeName(v)}`);
      return undefined;
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string' || typeof item === 'number') out.push(String(item));
      else this.add([...path, key, i], `expected a string, got ${typeName(item)}`);
    });
    return out;
  }

  /** A secret reference. A plain value is refused without repeating it. */
  ref(o: Obj, key: string, path: Path): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || !isSecretRef(v)) {
      this.add(
        [...path, key],
        'looks like a plain secret; secrets must not be written in the config: store a reference ' +
          'env:VAR, keychain:SERVICE/KEY, vault:NAME, file:PATH or cmd:COMMAND instead',
      );
      return undefined;
    }
    return v;
  }

  /** A program to run: an argv list, or a string split into words (no shell runs it). */
  command(o: Obj, key: string, path: Path): string[] | undefined {
    const v = o[key];
    if (typeof v === 'string') {
      try {
        const words = splitWords(v);
        if (words.length) return words;
        this.add([...path, key], 'must not be empty');
      } catch (e) {
        this.add([...path, key], (e as Error).message);
      }
      return undefined;
    }
    const list = this.strList(o, key, path);
    if (list && list.length === 0) this.add([...path, key], 'must not be empty');
    return list?.length ? list : undefined;
  }
}

/**
 * Why `text` (typed at a flag or a prompt) is not a valid value of the field, or undefined: the
 * same rules and words as the config reader, for the kinds a person types (enum, int, number).
 */
export function textProblem(spec: FieldSpec, text: string): string | undefined {
  if (spec.kind === 'enum') {
    if (spec.options.includes(text)) return undefined;
    const near = didYouMean(text, spec.options);
    return `expected one of ${spec.options.join(', ')}, got "${text.slice(0, 40)}"${near ? ` (did you mean "${near}"?)` : ''}`;
  }
  if (spec.kind === 'int') {
    const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
    return Number.isSafeInteger(n) && n >= spec.min && n <= spec.max
      ? undefined
      : `expected ${rangeText(spec.min, spec.max)}, got "${text.slice(0, 40)}"`;
  }
  if (spec.kind === 'number') {
    const n = text.trim() === '' ? Number.NaN : Number(text);
    return Number.isFinite(n) && n > spec.above
      ? undefined
      : `expected a number > ${spec.above}, got "${text.slice(0, 40)}"`;
  }
  return undefined;
}

/** A commander argParser for `flag` that checks the text against the field (exit 2 naming the flag). */
export function flagParser(flag: string, spec: FieldSpec): (text: string) => string {
  return (text) => {
    const problem = textProblem(spec, text);
    if (problem) throw usageError(`${flag}: ${problem}`);
    return text;
  };
}

/** An interactive prompt's validate(): true, or the problem to show under the question. */
export function promptValidator(spec: FieldSpec): (text: string) => true | string {
  return (text) => textProblem(spec, text.trim()) ?? true;
}
