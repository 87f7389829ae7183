// The config's fields, one table per section: kind, bounds, default and one line of help for each
// (the vocabulary is field.ts). types.ts infers the types from these tables, schema.ts reads and
// checks a file with them, save.ts writes in their order, and the CLI takes bounds and choices for
// its flags from them. Light on purpose (no cron parser, no YAML): the option table imports it for
// every command line.
import { DIGITS_MAX, DIGITS_MIN, ALGORITHMS as OTP_ALGORITHMS, PERIOD_MAX } from '../otp/params.js';
import { custom, optionalCustom, type Table } from './field.js';
import type { Account, Algorithm, Job, PromptRule, Protocol, SftpAuthMethod } from './types.js';

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
  timeout: {
    kind: 'number',
    above: 0,
    optional: true,
    doc: 'idle I/O timeout in seconds once connected (default 30); without connectTimeout also the TCP connect and greeting',
  },
  connections: {
    kind: 'int',
    min: 1,
    max: 16,
    optional: true,
    doc: 'FTP: control connections a run opens (default 4 where one TOTP code may log in several times, otp.reuse: allow, else 1)',
  },
  connectTimeout: {
    kind: 'number',
    above: 0,
    optional: true,
    doc: "seconds for the TCP connect and, again, for the server's greeting (default 4 and 10)",
  },
  retries: {
    kind: 'int',
    min: 0,
    max: 100,
    optional: true,
    doc: 'reconnects after a network fault, at login and per operation (default 1 and 3); 0 = one attempt',
  },
  bwlimit: {
    kind: 'rate',
    optional: true,
    doc: "bytes per second for this account's jobs (a job's own bwlimit wins; --bwlimit wins over both)",
  },
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
  bwlimit: {
    kind: 'rate',
    optional: true,
    doc: "bytes per second for this job's transfers; 0 = no limit (over the account's)",
  },
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

export function defaultTemplate(hasPassword: boolean): string {
  return hasPassword ? '${PASSWORD}${TOTP}' : '${TOTP}';
}

/** Names end up in file names, keychain keys and command lines: keep them plain. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
