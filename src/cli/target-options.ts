// The one option table: every flag that more than one command takes — a URL target's secrets (by
// variable name), OTP parameters, trust, the account fields of `account add`/`edit`, the global
// --config — defined once with its help, --help group, sensitivity, parser, environment variable and
// old names. Commands register groups of it, so names, help and parsing cannot drift apart.
//
// Environment: an option marked `env` can also come from OTPBACKUP_<FLAG> (--digits: OTPBACKUP_DIGITS),
// for CI; a flag on the command line wins. Read from CliContext.env in a preAction hook (applyEnv),
// not with commander's Option.env(), which reads process.env directly and so would bypass the
// context tests and embedders replace. Never for a `sensitive` option: those take the *name* of the
// variable holding a secret, and the secrets themselves have their own variables (OTPBACKUP_PASSWORD…).
// Type-only: `run` imports this through transfer-options.ts on its fast path, which must not load
// commander; options are made with cmd.createOption().
import type { Command } from 'commander';
import { flagParser } from '../config/field.js';
// The field tables, not schema.ts (which brings the cron parser): --help must stay quick.
import { OTP_FIELDS } from '../config/tables.js';
import type { TrustSettings } from '../config/types.js';
import { usageError } from '../errors.js';
import { DIGITS_TEXT, PERIOD_MAX } from '../otp/params.js';
import { CONNECT_TIMEOUT_MS, GREETING_TIMEOUT_MS, IO_TIMEOUT_S } from '../transport/reach.js';
import { ACCOUNT_DIR_HELP } from './remote-help.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export interface OptionSpec {
  /** commander flags: "--digits <n>". */
  flags: string;
  help: string;
  /** Heading it is listed under in --help. */
  group: string;
  /** Names where a secret is (a variable, a QR image): never taken from the environment. */
  sensitive?: true;
  /** May also come from OTPBACKUP_<FLAG> (never with `sensitive`). */
  env?: true;
  /** Given more than once, the values are collected into a list. */
  repeatable?: true;
  /** Turns the text into the option's value (a usage error names the flag). */
  parser?: (value: string, previous: unknown) => unknown;
  /** Old spellings, still accepted and hidden from --help; the value lands under the main name. */
  aliases?: readonly string[];
}

const LOGIN = 'Server login:';
const TRUST = 'Server identity:';
const ACCOUNT = 'Account:';
const LOCAL = 'Local files:';
const NETWORK = 'Network:';

const otpChoices = (o: readonly string[]) => o.join(', ').replace(/, ([^,]*)$/, ' or $1');

export const OPTIONS = {
  config: {
    flags: '--config <path>',
    help: 'config file (default: $OTPBACKUP_CONFIG or ~/.config/otpbackup/config.yaml)',
    group: 'Global Options:',
  },
  passwordEnv: {
    flags: '--password-env <VAR>',
    help: 'environment variable holding the password (default OTPBACKUP_PASSWORD)',
    group: LOGIN,
    sensitive: true,
  },
  totpSecretEnv: {
    flags: '--totp-secret-env <VAR>',
    help: 'environment variable holding the Base32 seed (default OTPBACKUP_TOTP_SECRET)',
    group: LOGIN,
    sensitive: true,
    aliases: ['--secret-env'],
  },
  otpauthUriEnv: {
    flags: '--otpauth-uri-env <VAR>',
    help: 'environment variable holding an otpauth:// URI (default OTPBACKUP_OTPAUTH_URI)',
    group: LOGIN,
    sensitive: true,
    aliases: ['--uri-env'],
  },
  algorithm: {
    flags: '--algorithm <alg>',
    help: otpChoices(OTP_FIELDS.algorithm.options),
    group: LOGIN,
    env: true,
  },
  digits: { flags: '--digits <n>', help: `code length: ${DIGITS_TEXT}`, group: LOGIN, env: true },
  period: {
    flags: '--period <seconds>',
    help: `TOTP step in seconds (default ${OTP_FIELDS.period.default}, at most ${PERIOD_MAX})`,
    group: LOGIN,
    env: true,
  },
  hotpCounterFile: {
    flags: '--hotp-counter-file <file>',
    help: 'HOTP: file holding the next counter (advanced before each login)',
    group: LOGIN,
    env: true,
  },
  template: {
    flags: '--template <template>',
    help: "login template, in single quotes: '${PASSWORD}${TOTP}' (default; ${TOTP} without a password)",
    group: LOGIN,
    env: true,
  },
  allowNoCode: {
    flags: '--allow-no-code',
    help: 'sftp: accept a --template without ${TOTP}, ${HOTP} or ${OTP} (a separate prompt asks for the code)',
    group: LOGIN,
    env: true,
  },
  prompt: {
    flags: '--prompt <rule>',
    help: "sftp: keyboard-interactive rule 'REGEX=TEMPLATE' (repeatable)",
    group: LOGIN,
    env: true,
    repeatable: true,
  },
  key: {
    flags: '--key <file>',
    help: 'sftp: private key for publickey, then keyboard-interactive for the code',
    group: LOGIN,
    env: true,
  },
  otpReuse: {
    flags: '--otp-reuse <policy>',
    help: 'forbid (default) or allow: the server accepts a code twice (no wait for a fresh step)',
    parser: flagParser('--otp-reuse', OTP_FIELDS.reuse),
    group: LOGIN,
    env: true,
  },
  connections: {
    flags: '--connections <n>',
    help: 'ftp: control connections (1-16; default 4 with --otp-reuse allow, else 1: each extra login then waits for a fresh step)',
    group: LOGIN,
    env: true,
  },
  hostKey: {
    flags: '--host-key <SHA256:...>',
    help: 'sftp: accept this host key (repeatable)',
    group: TRUST,
    env: true,
    repeatable: true,
    aliases: ['--trust-host-key'],
  },
  knownHosts: {
    flags: '--known-hosts <file>',
    help: 'sftp: known_hosts file to consult (repeatable)',
    group: TRUST,
    env: true,
    repeatable: true,
  },
  ca: { flags: '--ca <file>', help: 'ftps: PEM file of the CA to trust', group: TRUST, env: true },
  tlsFingerprint: {
    flags: '--tls-fingerprint <SHA256:AA:...>',
    help: 'ftps: accept this certificate (repeatable)',
    group: TRUST,
    env: true,
    repeatable: true,
  },
  // How data moves (run, upload, download, restore; parsed in transfer-options.ts). Also config
  // fields of accounts and jobs, which is where a standing setting belongs; not from the
  // environment, since `run` from cron takes the fast path, which reads no OTPBACKUP_<FLAG>.
  bwlimit: {
    flags: '--bwlimit <rate>',
    help: 'cap the transfer rate, bytes per second, shared by all transfers: 500k, 1M, 1.5G (k/M/G = 1024ⁿ; default: none, or the job/account bwlimit)',
    group: NETWORK,
  },
  timeout: {
    flags: '--timeout <seconds>',
    help: `give up on a connection silent for this long once connected (default ${IO_TIMEOUT_S})`,
    group: NETWORK,
  },
  connectTimeout: {
    flags: '--connect-timeout <seconds>',
    help: `bound the TCP connect and the server's greeting, each (default ${CONNECT_TIMEOUT_MS / 1000} and ${GREETING_TIMEOUT_MS / 1000})`,
    group: NETWORK,
  },
  retries: {
    flags: '--retries <n>',
    help: 'reconnects after a network fault (default 1 at login, 3 during transfers; 0 = one attempt)',
    group: NETWORK,
  },
  // `account add` / `account edit`: they change the config, so nothing comes from the environment.
  url: {
    flags: '--url <url>',
    help: 'ftp://, ftpes://, ftps:// or sftp://user@host[:port][/dir] (paths: see below)',
    group: ACCOUNT,
  },
  remoteDir: {
    flags: '--remote-dir <dir>',
    help: `${ACCOUNT_DIR_HELP}; instead of the URL's path`,
    group: ACCOUNT,
  },
  rename: {
    flags: '--rename <new-name>',
    help: 'rename the account (its jobs, stored secrets and login state follow)',
    group: ACCOUNT,
  },
  qr: {
    flags: '--qr <file>',
    help: 'PNG or JPEG image of the otpauth:// QR code',
    group: ACCOUNT,
    sensitive: true,
  },
  hotp: { flags: '--hotp', help: 'the seed is for HOTP (counter based)', group: ACCOUNT },
  otpType: {
    flags: '--otp-type <type>',
    help: 'totp, hotp or prompt (store no seed; a person types the code at each login, on a terminal)',
    group: ACCOUNT,
  },
  store: {
    flags: '--store <store>',
    help: 'keychain or vault (default: keychain when a Secret Service answers)',
    group: ACCOUNT,
  },
  noTest: {
    flags: '--no-test',
    help: 'save without logging in and writing a probe file first',
    group: ACCOUNT,
  },
  // Commands that write local files (download, restore).
  overwrite: { flags: '--overwrite', help: 'replace local files that differ', group: LOCAL },
  skipExisting: { flags: '--skip-existing', help: 'leave every existing local file alone', group: LOCAL },
  noProgress: {
    flags: '--no-progress',
    help: 'no progress line, even on a terminal',
    group: 'Output:',
    env: true,
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionKey = keyof typeof OPTIONS;

/** The URL-target flags that describe an account's login: an --account or a job has its own, so
 *  typed with one of those they are refused (taken from OTPBACKUP_<FLAG>, they just do not apply). */
export const ACCOUNT_OWN_FLAGS = [
  'passwordEnv',
  'totpSecretEnv',
  'otpauthUriEnv',
  'algorithm',
  'digits',
  'period',
] as const satisfies readonly OptionKey[];

/** The groups commands register. */
export const GROUPS = {
  /** A server given as a URL: `upload --to`, `download`, `ls`. */
  target: [
    ...ACCOUNT_OWN_FLAGS,
    'hotpCounterFile',
    'template',
    'allowNoCode',
    'prompt',
    'key',
    'hostKey',
    'knownHosts',
    'ca',
    'tlsFingerprint',
    'otpReuse',
    'connections',
  ],
  /** `account add` (edit adds `rename`). */
  account: [
    'url',
    'remoteDir',
    'passwordEnv',
    'totpSecretEnv',
    'otpauthUriEnv',
    'qr',
    'hotp',
    'otpType',
    'template',
    'allowNoCode',
    'hostKey',
    'tlsFingerprint',
    'store',
    'algorithm',
    'digits',
    'period',
    'otpReuse',
    'prompt',
    'key',
    'noTest',
  ],
  local: ['overwrite', 'skipExisting', 'noProgress'],
  transfer: ['bwlimit', 'timeout', 'connectTimeout', 'retries'],
} as const satisfies Record<string, readonly OptionKey[]>;

/** OTPBACKUP_<FLAG>: "--tls-fingerprint" → OTPBACKUP_TLS_FINGERPRINT. */
export function envName(spec: OptionSpec): string {
  const long = /--(?:no-)?([a-z0-9-]+)/.exec(spec.flags)![0].slice(2);
  return `OTPBACKUP_${long.toUpperCase().replace(/-/g, '_')}`;
}

/** The attribute commander stores a flag under: "--no-test" → "test", "--host-key" → "hostKey". */
function attribute(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const longFlag = (spec: OptionSpec) => /--[a-z0-9-]+/.exec(spec.flags)![0];

interface Registered {
  key: OptionKey;
  spec: OptionSpec;
  attr: string;
  /** Whether the environment may set it on this command. */
  env: boolean;
}
/** What the table registered on each command, for applyEnv and flagName. */
const registered = new WeakMap<Command, Registered[]>();
/** Per parsed options object: the attributes that came from the environment. */
const fromEnv = new WeakMap<object, Set<string>>();

/**
 * Adds the options `keys` to `cmd`, in that order, with their help group; `env: false` keeps
 * the environment out (commands that change the config). `help` overrides a line for this command.
 */
export function addOptions(
  cmd: Command,
  keys: readonly OptionKey[],
  o: { env?: boolean; help?: Partial<Record<OptionKey, string>> } = {},
): Command {
  const list = registered.get(cmd) ?? [];
  for (const key of keys) {
    const spec: OptionSpec = OPTIONS[key];
    const attr = attribute(longFlag(spec));
    const env = o.env !== false && spec.env === true && spec.sensitive !== true;
    let help = o.help?.[key] ?? spec.help;
    if (env) help += ` (env: ${envName(spec)})`;
    const opt = cmd.createOption(spec.flags, help).helpGroup(spec.group);
    const parser = spec.parser ?? (spec.repeatable ? collect : undefined);
    if (parser) opt.argParser(parser as (v: string, p: unknown) => unknown);
    cmd.addOption(opt);
    for (const alias of spec.aliases ?? []) {
      const value = spec.flags.replace(/^--[a-z0-9-]+/, '');
      const hidden = cmd.createOption(`${alias}${value}`).hideHelp();
      if (parser) hidden.argParser(parser as (v: string, p: unknown) => unknown);
      cmd.addOption(hidden);
      // The old name's value also lands under the main name (repeatable ones add up).
      cmd.on(`option:${alias.slice(2)}`, (v: string) => {
        const next = parser ? parser(v, cmd.getOptionValue(attr)) : v;
        cmd.setOptionValueWithSource(attr, next, 'cli');
      });
    }
    list.push({ key, spec, attr, env });
  }
  registered.set(cmd, list);
  return cmd;
}

export function addGroup(cmd: Command, group: keyof typeof GROUPS, o: Parameters<typeof addOptions>[2] = {}) {
  return addOptions(cmd, GROUPS[group], o);
}

/** The URL-target flags, for upload, download and ls. */
export function addTargetOptions(cmd: Command): Command {
  return addGroup(cmd, 'target');
}

/** The flags of `account add`, or of `account edit` (which adds --rename; nothing from the environment). */
export function addAccountOptions(
  cmd: Command,
  which: 'add' | 'edit',
  help: Partial<Record<OptionKey, string>> = {},
): Command {
  const keys = which === 'edit' ? ['url', 'remoteDir', 'rename', ...GROUPS.account.slice(2)] : GROUPS.account;
  return addOptions(cmd, keys as OptionKey[], { env: false, help });
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/**
 * Called before each action: options the command line left unset take OTPBACKUP_<FLAG> from `env`
 * (through the same parser). A boolean variable must say 1/true/yes/on or 0/false/no/off.
 */
export function applyEnv(cmd: Command, env: NodeJS.ProcessEnv): void {
  const opts = cmd.opts();
  for (const r of registered.get(cmd) ?? []) {
    if (!r.env) continue;
    const source = cmd.getOptionValueSource(r.attr);
    if (source !== undefined && source !== 'default') continue;
    const name = envName(r.spec);
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: unknown;
    if (!/[<[]/.test(r.spec.flags)) {
      const negated = r.spec.flags.startsWith('--no-');
      if (!TRUE.test(text) && !FALSE.test(text))
        throw usageError(`${name}: expected 1 or 0 (true/false), got "${text.slice(0, 20)}"`);
      value = TRUE.test(text) !== negated;
    } else {
      const parser = r.spec.parser ?? (r.spec.repeatable ? collect : undefined);
      value = parser ? parser(text, undefined) : text;
    }
    cmd.setOptionValueWithSource(r.attr, value, 'env');
    const set = fromEnv.get(opts) ?? new Set<string>();
    fromEnv.set(opts, set.add(r.attr));
  }
}

/** Whether `key` was given on the command line (not taken from the environment). */
export function onCommandLine(opts: object, key: string): boolean {
  return (opts as Record<string, unknown>)[key] !== undefined && !fromEnv.get(opts)?.has(key);
}

/** The spelling the person typed, for messages: an old alias when that was used. */
export function flagName(opts: object, key: OptionKey): string {
  const spec: OptionSpec = OPTIONS[key];
  for (const alias of spec.aliases ?? []) {
    if ((opts as Record<string, unknown>)[attribute(alias)] !== undefined) return alias;
  }
  return longFlag(spec);
}

/** Trust given on the command line adds to an account's own (pins and CA files, never replaces). */
export function withCliTrust(
  trust: TrustSettings,
  o: { hostKey?: string[]; knownHosts?: string[]; ca?: string; tlsFingerprint?: string[] },
): TrustSettings {
  const t = { ...trust };
  if (o.hostKey?.length) t.hostKeys = [...(t.hostKeys ?? []), ...o.hostKey];
  if (o.knownHosts?.length) t.knownHosts = [...(t.knownHosts ?? []), ...o.knownHosts];
  if (o.ca) t.ca = o.ca;
  if (o.tlsFingerprint?.length) t.tlsFingerprints = [...(t.tlsFingerprints ?? []), ...o.tlsFingerprint];
  return t;
}
