// The config schema: one table per section (kind, bounds, default, help of every field; see
// field.ts). From these tables come the types (types.ts infers them), the allowed keys and their
// did-you-mean, the readers' bounds, the defaults, and the saver's field order (save.ts). What a table
// cannot say — rules between fields (a margin below the period, a template that needs a password) —
// is written below, once. Every problem is collected, each naming its dotted path (load.ts adds the
// line). Secret values are never echoed: only keys and references appear in messages.
import {
  DIGITS_MAX,
  DIGITS_MIN,
  ALGORITHMS as OTP_ALGORITHMS,
  PERIOD_MAX,
  parseTemplate,
} from '../otp/index.js';
import { validateSchedule } from '../schedule/due.js';
import { isSecretRef } from '../secrets/ref.js';
import { HOST_KEY_FINGERPRINT } from '../transport/hostkeys.js';
import { riskyPattern } from '../transport/prompts.js';
import {
  custom,
  didYouMean,
  formatPath,
  isObj,
  type Obj,
  optionalCustom,
  type Path,
  type Problem,
  Reader,
  show,
  type Table,
  typeName,
} from './field.js';
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

export { didYouMean, formatPath, type Path, type Problem };

export const PROTOCOLS: readonly Protocol[] = ['ftp', 'ftps', 'ftps-implicit', 'sftp'];
/** The OTP core's list: one definition. */
export const ALGORITHMS: readonly Algorithm[] = OTP_ALGORITHMS;
export const AUTH_METHODS: readonly SftpAuthMethod[] = ['password', 'keyboard-interactive', 'publickey'];
const MAX_INT = Number.MAX_SAFE_INTEGER;

export const OTP_FIELDS = {
  type: {
    kind: 'enum',
    options: ['totp', 'hotp', 'prompt', 'command'] as const,
    default: 'totp',
    doc: 'totp/hotp compute the code from `secret`; prompt asks the person; command runs `command`',
  },
  secret: { kind: 'ref', optional: true, doc: 'reference to the Base32 seed or otpauth:// URI (totp, hotp)' },
  algorithm: { kind: 'enum', options: ALGORITHMS, default: 'sha1', doc: 'HMAC algorithm' },
  digits: { kind: 'int', min: DIGITS_MIN, max: DIGITS_MAX, default: 6, doc: 'code length' },
  period: { kind: 'int', min: 1, max: PERIOD_MAX, default: 30, doc: 'seconds per step (totp)' },
  t0: { kind: 'int', min: 0, max: MAX_INT, default: 0, doc: 'Unix seconds of step 0 (totp)' },
  counter: {
    kind: 'int',
    min: 0,
    max: MAX_INT,
    optional: true,
    doc: 'initial counter (hotp); the live counter is kept in state, not config',
  },
  command: {
    kind: 'command',
    optional: true,
    doc: 'program printing a code on stdout (type command); no shell',
  },
  reuse: {
    kind: 'enum',
    options: ['forbid', 'allow'] as const,
    default: 'forbid',
    doc: 'forbid: never log in twice in one step; allow: the server accepts reuse',
  },
  marginSeconds: {
    kind: 'int',
    min: 0,
    max: PERIOD_MAX - 1,
    default: 3,
    doc: 'seconds before the end of a step within which we wait for the next one (below the period)',
  },
} as const satisfies Table;

export const TRUST_FIELDS = {
  hostKeys: { kind: 'list', single: true, optional: true, doc: 'SSH host key fingerprints "SHA256:base64"' },
  knownHosts: { kind: 'list', single: true, optional: true, doc: 'extra known_hosts files to consult' },
  ca: { kind: 'string', optional: true, doc: 'PEM CA file for FTPS' },
  tlsFingerprints: {
    kind: 'list',
    single: true,
    optional: true,
    doc: 'pinned certificate fingerprints "SHA256:AA:BB:..." for FTPS',
  },
  insecureSkipVerify: { kind: 'bool', optional: true, doc: 'turn certificate verification off (warns)' },
} as const satisfies Table;

export const PROMPT_FIELDS = {
  pattern: {
    kind: 'string',
    required: true,
    doc: 'case-insensitive regular expression matched against the prompt',
  },
  answer: { kind: 'string', required: true, doc: 'login template answering it, e.g. "${TOTP}"' },
} as const satisfies Table;

export const ACCOUNT_FIELDS = {
  protocol: {
    kind: 'enum',
    options: PROTOCOLS,
    required: true,
    doc: 'ftp, ftps (explicit TLS), ftps-implicit or sftp',
  },
  host: { kind: 'string', required: true, doc: 'host name or address' },
  port: { kind: 'int', min: 1, max: 65535, doc: "default: the protocol's port" },
  user: { kind: 'string', required: true, doc: 'login name' },
  remoteDir: {
    kind: 'string',
    default: '.',
    doc: 'remote base directory; job and upload paths are below it',
  },
  password: { kind: 'ref', optional: true, doc: 'reference to the static password' },
  template: { kind: 'string', doc: 'login template for FTP PASS (and combined SFTP prompts)' },
  otp: { kind: 'section', fields: OTP_FIELDS, required: true, doc: 'the one-time password settings' },
  authMethods: optionalCustom<SftpAuthMethod[]>('SFTP: methods offered, in order of preference'),
  privateKey: { kind: 'string', optional: true, doc: 'SFTP: private key file (publickey)' },
  privateKeyPassphrase: { kind: 'ref', optional: true, doc: "SFTP: reference to the key's passphrase" },
  prompts: optionalCustom<PromptRule[]>(
    'SFTP keyboard-interactive rules {pattern, answer}, tried before the defaults',
  ),
  trust: { kind: 'section', fields: TRUST_FIELDS, doc: 'host keys, CA and pins added to the defaults' },
  timeout: { kind: 'number', above: 0, optional: true, doc: 'connection timeout in seconds' },
} as const satisfies Table;

export const HOOK_FIELDS = {
  before: { kind: 'command', optional: true, doc: 'run before the job; failing stops it' },
  after: { kind: 'command', optional: true, doc: 'run after a successful job' },
  onFailure: { kind: 'command', optional: true, doc: 'run after a failed job' },
  timeout: {
    kind: 'int',
    min: 1,
    max: 86_400,
    optional: true,
    doc: "seconds before a hook's process group is killed; default 60",
  },
} as const satisfies Table;

export const NOTIFY_FIELDS = {
  url: { kind: 'string', required: true, doc: 'http(s):// URL or a secret reference' },
  start: { kind: 'string', optional: true, doc: 'URL or template with {url} pinged at start' },
  success: { kind: 'string', optional: true, doc: 'URL or template with {url} pinged on success' },
  failure: { kind: 'string', optional: true, doc: 'URL or template with {url} pinged on failure' },
  timeout: { kind: 'int', min: 1, max: 300, optional: true, doc: 'seconds per attempt; default 5' },
} as const satisfies Table;

export const RETENTION_FIELDS = {
  keep: {
    kind: 'int',
    min: 1,
    max: MAX_INT,
    optional: true,
    doc: 'versions mode: at most this many per file',
  },
  days: {
    kind: 'int',
    min: 1,
    max: MAX_INT,
    optional: true,
    doc: 'versions mode: drop versions older than this',
  },
} as const satisfies Table;

export const JOB_FIELDS = {
  account: { kind: 'string', required: true, doc: 'the account to back up to' },
  sources: { kind: 'list', single: true, required: true, doc: 'local files and directories' },
  include: { kind: 'list', single: true, optional: true, doc: 'only matching files (gitignore syntax)' },
  exclude: { kind: 'list', single: true, optional: true, doc: 'leave matching files out (gitignore syntax)' },
  remoteDir: {
    kind: 'string',
    doc: "relative to the account's remoteDir (or absolute); default: the job name",
  },
  schedule: { kind: 'string', default: '@daily', doc: 'cron expression or @daily, @hourly, every 6h, ...' },
  timezone: { kind: 'string', optional: true, doc: 'IANA time zone for the schedule' },
  symlinks: {
    kind: 'enum',
    options: ['skip', 'follow'] as const,
    default: 'skip',
    doc: 'skip or follow symbolic links',
  },
  mode: {
    kind: 'enum',
    options: ['mirror', 'versions'] as const,
    default: 'mirror',
    doc: 'mirror or keep versions',
  },
  delete: { kind: 'bool', default: false, doc: 'mirror: delete remote files that are gone locally' },
  checksum: { kind: 'bool', default: false, doc: 'compare content hashes, not only size and mtime' },
  retention: {
    kind: 'section',
    fields: RETENTION_FIELDS,
    optional: true,
    doc: 'versions mode: what to keep',
  },
  hooks: {
    kind: 'section',
    fields: HOOK_FIELDS,
    optional: true,
    doc: 'override the global hooks, key by key',
  },
  notify: { kind: 'section', fields: NOTIFY_FIELDS, optional: true, doc: 'override the global notify' },
  copyFirst: {
    kind: 'bool',
    optional: true,
    doc: 'upload a local copy made while the file was at rest (files rewritten in place all the time)',
  },
} as const satisfies Table;

export const VAULT_FIELDS = {
  path: { kind: 'string', optional: true, doc: 'vault file (default: beside the config)' },
  passphraseCommand: { kind: 'command', optional: true, doc: 'program printing the vault passphrase' },
} as const satisfies Table;

export const TOP_FIELDS = {
  version: optionalCustom<1>('config format version (1)'),
  vault: { kind: 'section', fields: VAULT_FIELDS, optional: true, doc: 'the encrypted secret file' },
  accounts: custom<Record<string, Account>>('servers, by name'),
  jobs: custom<Record<string, Job>>('what to back up where, by name'),
  hooks: { kind: 'section', fields: HOOK_FIELDS, optional: true, doc: 'for every job without its own' },
  notify: { kind: 'section', fields: NOTIFY_FIELDS, optional: true, doc: 'for every job without its own' },
} as const satisfies Table;

type DefaultsOf<T> = {
  -readonly [K in keyof T as T[K] extends { default: unknown } ? K : never]: T[K] extends { default: infer D }
    ? D
    : never;
};

function defaultsOf<T extends Table>(table: T): DefaultsOf<T> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(table)) if ('default' in f) out[k] = f.default;
  return out as DefaultsOf<T>;
}

/** The defaults, taken from the tables. */
export const DEFAULTS = {
  otp: defaultsOf(OTP_FIELDS),
  job: defaultsOf(JOB_FIELDS),
  remoteDir: ACCOUNT_FIELDS.remoteDir.default,
} as const;

export { defaultPort };

export function defaultTemplate(hasPassword: boolean): string {
  return hasPassword ? '${PASSWORD}${TOTP}' : '${TOTP}';
}

/** Names end up in file names, keychain keys and command lines: keep them plain. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function template(
  r: Reader,
  v: string | undefined,
  path: Path,
): ReturnType<typeof parseTemplate> | undefined {
  if (v === undefined) return undefined;
  try {
    return parseTemplate(v);
  } catch (e) {
    r.add(path, stripField((e as Error).message));
    return undefined;
  }
}

/** Errors from other modules may start with "field: "; we add our own path. */
function stripField(message: string): string {
  return message.replace(/^[\w.[\]-]+: /, '');
}

const HOST_KEY_RE = HOST_KEY_FINGERPRINT;
const TLS_FP_RE = /^SHA256:(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

function readOtp(r: Reader, v: unknown, path: Path): OtpSettings | undefined {
  const F = OTP_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const d = DEFAULTS.otp;
  const type = r.field(o, 'type', F.type, path) ?? d.type;
  const secret = r.field(o, 'secret', F.secret, path);
  if ((type === 'totp' || type === 'hotp') && o.secret == null) {
    r.add(
      [...path, 'secret'],
      `required for type ${type} (a reference to the Base32 seed or otpauth:// URI)`,
    );
  }
  const cmd = r.field(o, 'command', F.command, path);
  if (type === 'command' && o.command == null) r.add([...path, 'command'], 'required for type command');
  const period = r.field(o, 'period', F.period, path) ?? d.period;
  const otp: OtpSettings = {
    type,
    algorithm: r.field(o, 'algorithm', F.algorithm, path) ?? d.algorithm,
    digits: r.field(o, 'digits', F.digits, path) ?? d.digits,
    period,
    t0: r.field(o, 't0', F.t0, path) ?? d.t0,
    reuse: r.field(o, 'reuse', F.reuse, path) ?? d.reuse,
    // Below the period: a margin as long as the step would wait forever.
    marginSeconds:
      r.field(o, 'marginSeconds', F.marginSeconds, path, { max: Math.max(0, period - 1) }) ?? d.marginSeconds,
  };
  if (otp.marginSeconds >= period) otp.marginSeconds = 0;
  if (secret !== undefined) otp.secret = secret;
  const counter = r.field(o, 'counter', F.counter, path);
  if (counter !== undefined) otp.counter = counter;
  else if (type === 'hotp') otp.counter = 0;
  if (cmd) otp.command = cmd;
  return otp;
}

function readTrust(r: Reader, v: unknown, path: Path): TrustSettings {
  const F = TRUST_FIELDS;
  const o = r.section(v, path, F) ?? {};
  const t: TrustSettings = {};
  const hostKeys = r.field(o, 'hostKeys', F.hostKeys, path);
  hostKeys?.forEach((k, i) => {
    if (!HOST_KEY_RE.test(k)) {
      r.add(
        [...path, 'hostKeys', i],
        `expected an SSH fingerprint "SHA256:" + 43 base64 characters, got "${k}"`,
      );
    }
  });
  if (hostKeys) t.hostKeys = hostKeys;
  const knownHosts = r.field(o, 'knownHosts', F.knownHosts, path);
  if (knownHosts) t.knownHosts = knownHosts;
  const ca = r.field(o, 'ca', F.ca, path);
  if (ca) t.ca = ca;
  const fps = r.field(o, 'tlsFingerprints', F.tlsFingerprints, path);
  fps?.forEach((k, i) => {
    if (!TLS_FP_RE.test(k)) {
      r.add([...path, 'tlsFingerprints', i], `expected "SHA256:AA:BB:..." (32 hex pairs), got "${k}"`);
    }
  });
  if (fps) t.tlsFingerprints = fps;
  const skip = r.field(o, 'insecureSkipVerify', F.insecureSkipVerify, path);
  if (skip !== undefined) t.insecureSkipVerify = skip;
  return t;
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
    const io = r.section(item, ip, PROMPT_FIELDS);
    if (!io) return;
    const pattern = r.field(io, 'pattern', PROMPT_FIELDS.pattern, ip);
    const answer = r.field(io, 'answer', PROMPT_FIELDS.answer, ip);
    if (pattern !== undefined) {
      try {
        new RegExp(pattern, 'i');
        const slow = riskyPattern(pattern);
        if (slow) r.add([...ip, 'pattern'], slow);
      } catch (e) {
        r.add([...ip, 'pattern'], `invalid regular expression: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    template(r, answer, [...ip, 'answer']);
    if (pattern !== undefined && answer !== undefined) rules.push({ pattern, answer });
  });
  return rules;
}

function readAccount(r: Reader, v: unknown, path: Path, name: string): Account | undefined {
  const F = ACCOUNT_FIELDS;
  const start = r.problems.length;
  if (!NAME_RE.test(name)) {
    r.add(path, 'account names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  }
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const protocol = r.field(o, 'protocol', F.protocol, path);
  if (o.protocol == null) r.add([...path, 'protocol'], `required: one of ${PROTOCOLS.join(', ')}`);
  const host = r.field(o, 'host', F.host, path);
  if (host && /[\s/@]/.test(host)) r.add([...path, 'host'], `expected a host name or address, got "${host}"`);
  const port = r.field(o, 'port', F.port, path);
  const user = r.field(o, 'user', F.user, path);
  const remoteDir = r.field(o, 'remoteDir', F.remoteDir, path) ?? DEFAULTS.remoteDir;
  const password = r.field(o, 'password', F.password, path);
  const hasPassword = o.password != null;
  const tpl = r.field(o, 'template', F.template, path) ?? defaultTemplate(hasPassword);
  const parsed = template(r, tpl, [...path, 'template']);
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
  const privateKey = r.field(o, 'privateKey', F.privateKey, path);
  const privateKeyPassphrase = r.field(o, 'privateKeyPassphrase', F.privateKeyPassphrase, path);
  const prompts = readPrompts(r, o, path);
  const trust = readTrust(r, o.trust, [...path, 'trust']);
  const timeout = r.field(o, 'timeout', F.timeout, path);
  if (r.problems.length > start || !protocol || !host || !user || !otp) return undefined;
  const a: Account = {
    name,
    protocol,
    host,
    port: port ?? defaultPort(protocol),
    user,
    remoteDir,
    template: tpl,
    otp,
    trust,
  };
  if (password) a.password = password;
  if (authMethods) a.authMethods = authMethods as SftpAuthMethod[];
  if (privateKey) a.privateKey = privateKey;
  if (privateKeyPassphrase) a.privateKeyPassphrase = privateKeyPassphrase;
  if (prompts) a.prompts = prompts;
  if (timeout !== undefined) a.timeout = timeout;
  return a;
}

function readHooks(r: Reader, v: unknown, path: Path): Hooks | undefined {
  const F = HOOK_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const h: Hooks = {};
  for (const k of ['before', 'after', 'onFailure'] as const) {
    const argv = r.field(o, k, F[k], path);
    if (argv) h[k] = argv;
  }
  const timeout = r.field(o, 'timeout', F.timeout, path);
  if (timeout !== undefined) h.timeout = timeout;
  return h;
}

function readNotify(r: Reader, v: unknown, path: Path): Notify | undefined {
  const F = NOTIFY_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const url = r.field(o, 'url', F.url, path);
  if (url === undefined) return undefined;
  if (!isSecretRef(url) && !/^https?:\/\/[^\s]+$/i.test(url))
    r.add([...path, 'url'], 'expected an http(s):// URL or a secret reference such as env:HEALTHCHECK_URL');
  const n: Notify = { url };
  for (const k of ['start', 'success', 'failure'] as const) {
    const t = r.field(o, k, F[k], path);
    if (t !== undefined) {
      if (!t.includes('{url}') && !/^https?:\/\//i.test(t))
        r.add([...path, k], 'expected a URL, or a template with {url} such as "{url}/fail"');
      n[k] = t;
    }
  }
  const timeout = r.field(o, 'timeout', F.timeout, path);
  if (timeout !== undefined) n.timeout = timeout;
  return n;
}

function readJob(r: Reader, v: unknown, path: Path, name: string, accounts: Obj): Job | undefined {
  const F = JOB_FIELDS;
  const start = r.problems.length;
  if (!NAME_RE.test(name))
    r.add(path, 'job names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const account = r.field(o, 'account', F.account, path);
  if (account && !Object.hasOwn(accounts, account)) {
    const near = didYouMean(account, Object.keys(accounts));
    r.add([...path, 'account'], `no account "${account}"${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  const sources = r.strList(o, 'sources', path, true);
  if (o.sources == null || sources?.length === 0) r.add([...path, 'sources'], 'required: at least one path');
  const d = DEFAULTS.job;
  const schedule = r.field(o, 'schedule', F.schedule, path) ?? d.schedule;
  const timezone = r.field(o, 'timezone', F.timezone, path);
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
    remoteDir: r.field(o, 'remoteDir', F.remoteDir, path) ?? name,
    schedule,
    symlinks: r.field(o, 'symlinks', F.symlinks, path) ?? d.symlinks,
    mode: r.field(o, 'mode', F.mode, path) ?? d.mode,
    delete: r.field(o, 'delete', F.delete, path) ?? d.delete,
    checksum: r.field(o, 'checksum', F.checksum, path) ?? d.checksum,
  };
  const include = r.field(o, 'include', F.include, path);
  if (include) job.include = include;
  const exclude = r.field(o, 'exclude', F.exclude, path);
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

  if (r.field(o, 'copyFirst', F.copyFirst, path)) job.copyFirst = true;
  if (o.retention != null) {
    const rp = [...path, 'retention'];
    const RF = RETENTION_FIELDS;
    const ro = r.section(o.retention, rp, RF);
    if (ro) {
      const keep = r.field(ro, 'keep', RF.keep, rp);
      const days = r.field(ro, 'days', RF.days, rp);
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
  const top = r.section(raw, [], TOP_FIELDS) ?? {};
  if (top.version != null && top.version !== 1) {
    r.add(['version'], `unsupported config version ${show(top.version)}; this otpbackup reads version 1`);
  }
  if (top.vault != null) {
    const vo = r.section(top.vault, ['vault'], VAULT_FIELDS);
    if (vo) {
      const vault: NonNullable<Config['vault']> = {};
      const p = r.field(vo, 'path', VAULT_FIELDS.path, ['vault']);
      if (p) vault.path = p;
      const cmd = r.field(vo, 'passphraseCommand', VAULT_FIELDS.passphraseCommand, ['vault']);
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
