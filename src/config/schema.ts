// The config schema, written in code: reads the plain YAML value, collects EVERY problem (each naming
// its dotted path; load.ts adds the line), and normalises to the types in types.ts with defaults.
// Secret values are never echoed: only keys and references appear in messages.
import {
  DIGITS_MAX,
  DIGITS_MIN,
  ALGORITHMS as OTP_ALGORITHMS,
  PERIOD_MAX,
  parseTemplate,
} from '../otp/index.js';
import { validateSchedule } from '../schedule/due.js';
import { parseRate } from '../transport/bwlimit.js';
import { HOST_KEY_FINGERPRINT } from '../transport/hostkeys.js';
import type {
  Account,
  Algorithm,
  Config,
  Hooks,
  Job,
  Notify,
  OtpSettings,
  PromptRule,
  Protocol,
  SftpAuthMethod,
  TrustSettings,
} from './types.js';
import { defaultPort } from './url.js';

export type Path = (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  /** Point at the key itself (unknown keys) rather than its value. */
  atKey?: boolean;
}

export const SECRET_SCHEMES = ['env', 'keychain', 'vault', 'file', 'cmd'] as const;
export type SecretScheme = (typeof SECRET_SCHEMES)[number];

export const PROTOCOLS: readonly Protocol[] = ['ftp', 'ftps', 'ftps-implicit', 'sftp'];
/** The OTP core's list: one definition. */
export const ALGORITHMS: readonly Algorithm[] = OTP_ALGORITHMS;
const AUTH_METHODS: readonly SftpAuthMethod[] = ['password', 'keyboard-interactive', 'publickey'];

export const DEFAULTS = {
  otp: { type: 'totp', algorithm: 'sha1', digits: 6, period: 30, t0: 0, reuse: 'forbid', marginSeconds: 3 },
  job: { schedule: '@daily', mode: 'mirror', delete: false, symlinks: 'skip', checksum: false },
  remoteDir: '.',
} as const;

export { defaultPort };

export function defaultTemplate(hasPassword: boolean): string {
  return hasPassword ? '${PASSWORD}${TOTP}' : '${TOTP}';
}

/** Names end up in file names, keychain keys and command lines: keep them plain. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isSecretRef(v: string): boolean {
  const m = /^([a-z]+):(.+)$/s.exec(v);
  return m !== null && (SECRET_SCHEMES as readonly string[]).includes(m[1]!) && m[2]!.trim() !== '';
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

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** A value as shown in a message: short, and safe for what YAML can build (cycles via aliases). */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined; // a cycle ("&a [*a]") or a BigInt
  }
  if (s === undefined) return typeName(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

/** Field readers that record problems and return undefined instead of throwing. */
class Reader {
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
      const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `${min}–${max}`;
      this.add([...path, key], `expected ${range}, got ${show(v)}`);
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

  template(v: string | undefined, path: Path): ReturnType<typeof parseTemplate> | undefined {
    if (v === undefined) return undefined;
    try {
      return parseTemplate(v);
    } catch (e) {
      this.add(path, stripField((e as Error).message));
      return undefined;
    }
  }
}

/** Errors from other modules may start with "field: "; we add our own path. */
function stripField(message: string): string {
  return message.replace(/^[\w.[\]-]+: /, '');
}

/** Splits a command line into words like a shell would (quotes, backslashes), without running one. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(cur);
  return words;
}

function command(r: Reader, o: Obj, key: string, path: Path): string[] | undefined {
  const v = o[key];
  if (typeof v === 'string') {
    try {
      const words = splitWords(v);
      if (words.length) return words;
      r.add([...path, key], 'must not be empty');
    } catch (e) {
      r.add([...path, key], (e as Error).message);
    }
    return undefined;
  }
  const list = r.strList(o, key, path);
  if (list && list.length === 0) r.add([...path, key], 'must not be empty');
  return list?.length ? list : undefined;
}

const TOP_KEYS = ['version', 'vault', 'accounts', 'jobs', 'hooks', 'notify'] as const;
const HOOK_KEYS = ['before', 'after', 'onFailure', 'timeout'] as const;
const NOTIFY_KEYS = ['url', 'start', 'success', 'failure', 'timeout'] as const;
const VAULT_KEYS = ['path', 'passphraseCommand'] as const;
const ACCOUNT_KEYS = [
  'protocol',
  'host',
  'port',
  'user',
  'remoteDir',
  'template',
  'password',
  'otp',
  'authMethods',
  'privateKey',
  'privateKeyPassphrase',
  'prompts',
  'trust',
  'timeout',
  'connectTimeout',
  'retries',
  'bwlimit',
] as const;
const OTP_KEYS = [
  'type',
  'secret',
  'algorithm',
  'digits',
  'period',
  't0',
  'counter',
  'command',
  'reuse',
  'marginSeconds',
] as const;
const TRUST_KEYS = ['hostKeys', 'knownHosts', 'ca', 'tlsFingerprints', 'insecureSkipVerify'] as const;
const JOB_KEYS = [
  'account',
  'sources',
  'include',
  'exclude',
  'remoteDir',
  'schedule',
  'timezone',
  'symlinks',
  'mode',
  'delete',
  'checksum',
  'retention',
  'hooks',
  'notify',
  'bwlimit',

  'copyFirst',
] as const;

const HOST_KEY_RE = HOST_KEY_FINGERPRINT;
const TLS_FP_RE = /^SHA256:(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

function readOtp(r: Reader, v: unknown, path: Path): OtpSettings | undefined {
  const o = r.obj(v, path, OTP_KEYS);
  if (!o) return undefined;
  const d = DEFAULTS.otp;
  const type = r.oneOf(o, 'type', path, ['totp', 'hotp', 'prompt', 'command'] as const) ?? d.type;
  const secret = r.ref(o, 'secret', path);
  if ((type === 'totp' || type === 'hotp') && o.secret == null) {
    r.add(
      [...path, 'secret'],
      `required for type ${type} (a reference to the Base32 seed or otpauth:// URI)`,
    );
  }
  const cmd = command(r, o, 'command', path);
  if (type === 'command' && o.command == null) r.add([...path, 'command'], 'required for type command');
  const period = r.int(o, 'period', path, 1, PERIOD_MAX) ?? d.period;
  const otp: OtpSettings = {
    type,
    algorithm: r.oneOf(o, 'algorithm', path, ALGORITHMS) ?? d.algorithm,
    digits: r.int(o, 'digits', path, DIGITS_MIN, DIGITS_MAX) ?? d.digits,
    period,
    t0: r.int(o, 't0', path, 0, Number.MAX_SAFE_INTEGER) ?? d.t0,
    reuse: r.oneOf(o, 'reuse', path, ['forbid', 'allow'] as const) ?? d.reuse,
    marginSeconds: r.int(o, 'marginSeconds', path, 0, Math.max(0, period - 1)) ?? d.marginSeconds,
  };
  if (otp.marginSeconds >= period) otp.marginSeconds = 0;
  if (secret !== undefined) otp.secret = secret;
  const counter = r.int(o, 'counter', path, 0, Number.MAX_SAFE_INTEGER);
  if (counter !== undefined) otp.counter = counter;
  else if (type === 'hotp') otp.counter = 0;
  if (cmd) otp.command = cmd;
  return otp;
}

function readTrust(r: Reader, v: unknown, path: Path): TrustSettings {
  const o = r.obj(v, path, TRUST_KEYS) ?? {};
  const t: TrustSettings = {};
  const hostKeys = r.strList(o, 'hostKeys', path, true);
  hostKeys?.forEach((k, i) => {
    if (!HOST_KEY_RE.test(k)) {
      r.add(
        [...path, 'hostKeys', i],
        `expected an SSH fingerprint "SHA256:" + 43 base64 characters, got "${k}"`,
      );
    }
  });
  if (hostKeys) t.hostKeys = hostKeys;
  const knownHosts = r.strList(o, 'knownHosts', path, true);
  if (knownHosts) t.knownHosts = knownHosts;
  const ca = r.str(o, 'ca', path);
  if (ca) t.ca = ca;
  const fps = r.strList(o, 'tlsFingerprints', path, true);
  fps?.forEach((k, i) => {
    if (!TLS_FP_RE.test(k)) {
      r.add([...path, 'tlsFingerprints', i], `expected "SHA256:AA:BB:..." (32 hex pairs), got "${k}"`);
    }
  });
  if (fps) t.tlsFingerprints = fps;
  const skip = r.bool(o, 'insecureSkipVerify', path);
  if (skip !== undefined) t.insecureSkipVerify = skip;
  return t;
}

/** A group that repeats something and is itself repeated: "(a+)+", "(\\w*)*", "(x|y+){2,}". */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

/**
 * Prompt patterns run against text the server sends; nested repetition can backtrack for hours
 * (transport/prompts.ts also time-boxes every match). Returns why a pattern is refused, if it is.
 */
export function riskyPattern(pattern: string): string | undefined {
  if (pattern.length > 500) return `is ${pattern.length} characters long; at most 500`;
  if (NESTED_QUANTIFIER.test(pattern)) {
    return 'repeats a group that itself repeats (like "(a+)+"), which can take exponential time; simplify it';
  }
  return undefined;
}

function readPrompts(r: Reader, o: Obj, path: Path): PromptRule[] | undefined {
  const v = o.prompts;
  if (v === undefined || v === null) return undefined;
  const p = [...path, 'prompts'];
  if (!Array.isArray(v)) {
    r.add(p, `expected a list of {pattern, answer}, got ${typeName(v)}`);
    return undefined;
  }
  const rules: PromptRule[] = [];
  v.forEach((item, i) => {
    const ip = [...p, i];
    const io = r.obj(item, ip, ['pattern', 'answer']);
    if (!io) return;
    const pattern = r.str(io, 'pattern', ip, true);
    const answer = r.str(io, 'answer', ip, true);
    if (pattern !== undefined) {
      try {
        new RegExp(pattern, 'i');
        const slow = riskyPattern(pattern);
        if (slow) r.add([...ip, 'pattern'], slow);
      } catch (e) {
        r.add([...ip, 'pattern'], `invalid regular expression: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    r.template(answer, [...ip, 'answer']);
    if (pattern !== undefined && answer !== undefined) rules.push({ pattern, answer });
  });
  return rules;
}

function readAccount(r: Reader, v: unknown, path: Path, name: string): Account | undefined {
  const start = r.problems.length;
  if (!NAME_RE.test(name)) {
    r.add(path, 'account names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  }
  const o = r.obj(v, path, ACCOUNT_KEYS);
  if (!o) return undefined;
  const protocol = r.oneOf(o, 'protocol', path, PROTOCOLS);
  if (o.protocol == null) r.add([...path, 'protocol'], `required: one of ${PROTOCOLS.join(', ')}`);
  const host = r.str(o, 'host', path, true);
  if (host && /[\s/@]/.test(host)) r.add([...path, 'host'], `expected a host name or address, got "${host}"`);
  const port = r.int(o, 'port', path, 1, 65535);
  const user = r.str(o, 'user', path, true);
  const remoteDir = r.str(o, 'remoteDir', path) ?? DEFAULTS.remoteDir;
  const password = r.ref(o, 'password', path);
  const hasPassword = o.password != null;
  const template = r.str(o, 'template', path) ?? defaultTemplate(hasPassword);
  const parsed = r.template(template, [...path, 'template']);
  if (parsed?.usesPassword && !hasPassword) {
    r.add([...path, 'template'], 'uses ${PASSWORD} but the account has no "password" reference');
  }
  if (o.otp == null) r.add([...path, 'otp'], 'required: the one-time password settings (type, secret, ...)');
  const otp = o.otp == null ? undefined : readOtp(r, o.otp, [...path, 'otp']);
  if (parsed && !parsed.usesCode) {
    // Not an error for SFTP, where keyboard-interactive prompts may ask for the code separately.
    if (protocol !== 'sftp')
      r.add([...path, 'template'], 'does not contain the code (${TOTP}, ${OTP} or ${HOTP})');
  }
  const authMethods = r.strList(o, 'authMethods', path, true);
  authMethods?.forEach((m, i) => {
    if (!(AUTH_METHODS as readonly string[]).includes(m)) {
      r.add([...path, 'authMethods', i], `expected one of ${AUTH_METHODS.join(', ')}, got "${m}"`);
    }
  });
  if (authMethods && protocol && protocol !== 'sftp') r.add([...path, 'authMethods'], 'only applies to sftp');
  const privateKey = r.str(o, 'privateKey', path);
  const privateKeyPassphrase = r.ref(o, 'privateKeyPassphrase', path);
  const prompts = readPrompts(r, o, path);
  const trust = readTrust(r, o.trust, [...path, 'trust']);
  const timeout = r.num(o, 'timeout', path, 0);
  const connectTimeout = r.num(o, 'connectTimeout', path, 0);
  const retries = r.int(o, 'retries', path, 0, 100);
  const bwlimit = r.rate(o, 'bwlimit', path);
  if (r.problems.length > start || !protocol || !host || !user || !otp) return undefined;
  const a: Account = {
    name,
    protocol,
    host,
    port: port ?? defaultPort(protocol),
    user,
    remoteDir,
    template,
    otp,
    trust,
  };
  if (password) a.password = password;
  if (authMethods) a.authMethods = authMethods as SftpAuthMethod[];
  if (privateKey) a.privateKey = privateKey;
  if (privateKeyPassphrase) a.privateKeyPassphrase = privateKeyPassphrase;
  if (prompts) a.prompts = prompts;
  if (timeout !== undefined) a.timeout = timeout;
  if (connectTimeout !== undefined) a.connectTimeout = connectTimeout;
  if (retries !== undefined) a.retries = retries;
  if (bwlimit) a.bwlimit = bwlimit;
  return a;
}

function readHooks(r: Reader, v: unknown, path: Path): Hooks | undefined {
  const o = r.obj(v, path, HOOK_KEYS);
  if (!o) return undefined;
  const h: Hooks = {};
  for (const k of ['before', 'after', 'onFailure'] as const) {
    const argv = o[k] == null ? undefined : command(r, o, k, path);
    if (argv) h[k] = argv;
  }
  const timeout = r.int(o, 'timeout', path, 1, 86_400);
  if (timeout !== undefined) h.timeout = timeout;
  return h;
}

function readNotify(r: Reader, v: unknown, path: Path): Notify | undefined {
  const o = r.obj(v, path, NOTIFY_KEYS);
  if (!o) return undefined;
  const url = r.str(o, 'url', path, true);
  if (url === undefined) return undefined;
  if (!isSecretRef(url) && !/^https?:\/\/[^\s]+$/i.test(url))
    r.add([...path, 'url'], 'expected an http(s):// URL or a secret reference such as env:HEALTHCHECK_URL');
  const n: Notify = { url };
  for (const k of ['start', 'success', 'failure'] as const) {
    const t = r.str(o, k, path);
    if (t !== undefined) {
      if (!t.includes('{url}') && !/^https?:\/\//i.test(t))
        r.add([...path, k], 'expected a URL, or a template with {url} such as "{url}/fail"');
      n[k] = t;
    }
  }
  const timeout = r.int(o, 'timeout', path, 1, 300);
  if (timeout !== undefined) n.timeout = timeout;
  return n;
}

function readJob(r: Reader, v: unknown, path: Path, name: string, accounts: Obj): Job | undefined {
  const start = r.problems.length;
  if (!NAME_RE.test(name))
    r.add(path, 'job names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  const o = r.obj(v, path, JOB_KEYS);
  if (!o) return undefined;
  const account = r.str(o, 'account', path, true);
  if (account && !Object.hasOwn(accounts, account)) {
    const near = didYouMean(account, Object.keys(accounts));
    r.add([...path, 'account'], `no account "${account}"${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  const sources = r.strList(o, 'sources', path, true);
  if (o.sources == null || sources?.length === 0) r.add([...path, 'sources'], 'required: at least one path');
  const d = DEFAULTS.job;
  const schedule = r.str(o, 'schedule', path) ?? d.schedule;
  const timezone = r.str(o, 'timezone', path);
  try {
    validateSchedule(schedule, timezone, { field: formatPath([...path, 'schedule']) });
  } catch (e) {
    const m = (e as Error).message;
    const field = /^[\w.[\]-]*timezone: /.test(m) ? 'timezone' : 'schedule';
    r.add([...path, field], stripField(m));
  }
  const job: Job = {
    name,
    account: account ?? '',
    sources: sources ?? [],
    remoteDir: r.str(o, 'remoteDir', path) ?? name,
    schedule,
    symlinks: r.oneOf(o, 'symlinks', path, ['skip', 'follow'] as const) ?? d.symlinks,
    mode: r.oneOf(o, 'mode', path, ['mirror', 'versions'] as const) ?? d.mode,
    delete: r.bool(o, 'delete', path) ?? d.delete,
    checksum: r.bool(o, 'checksum', path) ?? d.checksum,
  };
  const include = r.strList(o, 'include', path, true);
  if (include) job.include = include;
  const exclude = r.strList(o, 'exclude', path, true);
  if (exclude) job.exclude = exclude;
  if (timezone) job.timezone = timezone;
  if (o.hooks != null) {
    const h = readHooks(r, o.hooks, [...path, 'hooks']);
    if (h) job.hooks = h;
  }
  if (o.notify != null) {
    const n = readNotify(r, o.notify, [...path, 'notify']);
    if (n) job.notify = n;
  }

  const bwlimit = r.rate(o, 'bwlimit', path);
  if (bwlimit !== undefined) job.bwlimit = bwlimit;
  if (r.bool(o, 'copyFirst', path)) job.copyFirst = true;
  if (o.retention != null) {
    const rp = [...path, 'retention'];
    const ro = r.obj(o.retention, rp, ['keep', 'days']);
    if (ro) {
      const keep = r.int(ro, 'keep', rp, 1, Number.MAX_SAFE_INTEGER);
      const days = r.int(ro, 'days', rp, 1, Number.MAX_SAFE_INTEGER);
      job.retention = {};
      if (keep !== undefined) job.retention.keep = keep;
      if (days !== undefined) job.retention.days = days;
    }
  }
  return r.problems.length > start ? undefined : job;
}

/** Validates and normalises a parsed YAML value. Returns the config or the list of problems. */
export function validate(raw: unknown, path: string): { config: Config; problems: Problem[] } {
  const r = new Reader();
  const config: Config = { path, accounts: {}, jobs: {} };
  const top = r.obj(raw, [], TOP_KEYS) ?? {};
  if (top.version != null && top.version !== 1) {
    r.add(['version'], `unsupported config version ${show(top.version)}; this otpbackup reads version 1`);
  }
  if (top.vault != null) {
    const vo = r.obj(top.vault, ['vault'], VAULT_KEYS);
    if (vo) {
      const vault: NonNullable<Config['vault']> = {};
      const p = r.str(vo, 'path', ['vault']);
      if (p) vault.path = p;
      const cmd = vo.passphraseCommand == null ? undefined : command(r, vo, 'passphraseCommand', ['vault']);
      if (cmd) vault.passphraseCommand = cmd;
      config.vault = vault;
    }
  }
  if (top.hooks != null) {
    const h = readHooks(r, top.hooks, ['hooks']);
    if (h) config.hooks = h;
  }
  if (top.notify != null) {
    const n = readNotify(r, top.notify, ['notify']);
    if (n) config.notify = n;
  }
  const accounts =
    r.obj(top.accounts, ['accounts'], Object.keys(isObj(top.accounts) ? top.accounts : {})) ?? {};
  for (const [name, v] of Object.entries(accounts)) {
    const a = readAccount(r, v, ['accounts', name], name);
    if (a) config.accounts[name] = a;
  }
  const jobs = r.obj(top.jobs, ['jobs'], Object.keys(isObj(top.jobs) ? top.jobs : {})) ?? {};
  for (const [name, v] of Object.entries(jobs)) {
    const j = readJob(r, v, ['jobs', name], name, accounts);
    if (j) config.jobs[name] = j;
  }
  return { config, problems: r.problems };
}
