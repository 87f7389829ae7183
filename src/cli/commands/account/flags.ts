// `account add` and `account edit` flags (and the typed answers of the prompts) into an
// AccountInput. Secrets are read here from the variables the flags name (the names never appear in
// an error's value part) or taken as typed; nothing else of the account is decided here.
import type { AccountInput, SeedInput } from '../../../accounts/input.js';
import { OtpBackupError, usageError } from '../../../errors.js';
import { envFlagValue } from '../../../secrets/env.js';
import { GROUPS } from '../../target-options.js';
import type { CommonOpts } from './shared.js';

export interface AddOptions extends CommonOpts {
  url: string;
  /** Config form ("." = login directory, relative below it, or absolute); overrides the URL's path. */
  remoteDir?: string;
  passwordEnv?: string;
  totpSecretEnv?: string;
  otpauthUriEnv?: string;
  hotp?: boolean;
  template?: string;
  /** Pins (--host-key for sftp, --tls-fingerprint for ftps; old name --trust-host-key). */
  hostKey?: string[];
  tlsFingerprint?: string[];
  store?: string;
  algorithm?: string;
  digits?: string;
  period?: string;
  otpReuse?: string;
  test?: boolean;
  /** PNG or JPEG holding the otpauth QR code. */
  qr?: string;
  /** 'prompt': no seed; the code is typed at each login (edit also takes totp and hotp). */
  otpType?: string;
  /** SFTP keyboard-interactive rules 'REGEX=TEMPLATE', tried before the defaults. */
  prompt?: string[];
  /** SFTP private key file: publickey first, then keyboard-interactive for the code. */
  key?: string;
  /** --allow-no-code: accept a --template without ${TOTP}/${HOTP}/${OTP} on purpose. */
  allowNoCode?: boolean;
}

export interface EditOptions extends Omit<AddOptions, 'url'> {
  url?: string;
  /** New name for the account. */
  rename?: string;
}

/**
 * Secrets typed on the terminal (interactive add/edit), used instead of the --…-env variables. Not
 * flags: the values stay in this process and never enter an environment a child could inherit.
 */
export interface TypedSecrets {
  /** A Base32 seed, or an otpauth:// URI with `otpIsUri`. */
  otp?: string;
  otpIsUri?: boolean;
  password?: string;
}

/** The flags that change something in `edit`: its option group (`--allow-no-code` only qualifies a
 *  --template, `--no-test` only skips the probe) and --rename. */
const CHANGE_FLAGS = [
  'rename',
  ...GROUPS.account.filter((k) => k !== 'allowNoCode' && k !== 'noTest'),
] as const;

export function hasChangeFlags(opts: EditOptions): boolean {
  return CHANGE_FLAGS.some((k) => opts[k] !== undefined);
}

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`${flag}: expected a whole number, got "${v}"`);
  return Number(v);
}

export function otpReuse(v: string | undefined): 'forbid' | 'allow' | undefined {
  if (v === undefined || v === 'forbid' || v === 'allow') return v;
  throw new OtpBackupError('usage', `--otp-reuse: expected forbid or allow, got "${v.slice(0, 40)}"`);
}

/** The seed from --totp-secret-env, --otpauth-uri-env or --qr (at most one), or as typed. */
async function readSeed(
  opts: EditOptions,
  env: NodeJS.ProcessEnv,
  typed: TypedSecrets,
): Promise<SeedInput | undefined> {
  if ([opts.totpSecretEnv, opts.otpauthUriEnv, opts.qr].filter(Boolean).length > 1)
    throw usageError('use only one of --totp-secret-env, --otpauth-uri-env and --qr');
  const otp = await import('../../../otp/index.js');
  const fromUri = (text: string): SeedInput => {
    const info = otp.parseOtpauthUri(text);
    const uri: NonNullable<SeedInput['uri']> = {
      type: info.type,
      algorithm: info.algorithm,
      digits: info.digits,
      period: info.period,
    };
    if (info.counter !== undefined) uri.counter = info.counter;
    return { secret: info.secret, uri };
  };
  if (opts.qr) {
    const text = await (await import('../../../otp/qr.js')).readQrFile(opts.qr);
    return /^otpauth:\/\//i.test(text) ? fromUri(text) : { secret: otp.parseSecret(text) };
  }
  if (opts.otpauthUriEnv) return fromUri(envFlagValue(env, '--otpauth-uri-env', opts.otpauthUriEnv));
  if (typed.otp !== undefined && typed.otpIsUri) return fromUri(typed.otp);
  if (opts.totpSecretEnv)
    return { secret: otp.parseSecret(envFlagValue(env, '--totp-secret-env', opts.totpSecretEnv)) };
  if (typed.otp !== undefined) return { secret: otp.parseSecret(typed.otp) };
  return undefined;
}

/** The AccountInput of `account add NAME` (`name` given) or `account edit` (name: --rename). */
export async function inputFromFlags(
  mode: 'add' | 'edit',
  opts: EditOptions,
  env: NodeJS.ProcessEnv,
  typed: TypedSecrets = {},
  name?: string,
): Promise<AccountInput> {
  const [{ parseTargetUrl }, otp] = await Promise.all([
    import('../../../config/url.js'),
    import('../../../otp/index.js'),
  ]);
  const input: AccountInput = { otp: {} };
  const newName = mode === 'add' ? name : opts.rename;
  if (newName !== undefined) input.name = newName;
  if (opts.url) {
    const t = parseTargetUrl(opts.url, '--url');
    input.server = { protocol: t.protocol, host: t.host, port: t.port, user: t.user };
    // add: "." for a URL without a path (url.ts has each scheme's rule); edit keeps the directory.
    if (mode === 'add' || t.hasPath) input.remoteDir = t.remoteDir;
  }
  if (opts.remoteDir !== undefined) input.remoteDir = opts.remoteDir;
  const types = mode === 'add' ? ['prompt'] : ['totp', 'hotp', 'prompt'];
  if (opts.otpType !== undefined && !types.includes(opts.otpType))
    throw usageError(
      `--otp-type: expected ${mode === 'add' ? 'prompt' : 'totp, hotp or prompt'}, got "${opts.otpType.slice(0, 20)}"`,
      ...(mode === 'add' ? ['totp and hotp are set by the seed flags (--hotp for HOTP)'] : []),
    );
  if (opts.otpType !== undefined) input.otp.type = opts.otpType as 'totp' | 'hotp' | 'prompt';
  if (opts.hotp) input.otp.hotp = true;
  const seed = await readSeed(opts, env, typed);
  if (seed) input.otp.seed = seed;
  if (opts.algorithm) input.otp.algorithm = otp.checkAlgorithm(opts.algorithm, '--algorithm');
  const digits = intFlag('--digits', opts.digits);
  if (digits !== undefined) input.otp.digits = otp.checkDigits(digits, '--digits');
  const period = intFlag('--period', opts.period);
  if (period !== undefined) input.otp.period = otp.checkPeriod(period, '--period');
  const reuse = otpReuse(opts.otpReuse);
  if (reuse) input.otp.reuse = reuse;
  const password =
    typed.password ?? (opts.passwordEnv ? envFlagValue(env, '--password-env', opts.passwordEnv) : undefined);
  if (password !== undefined) input.password = password;
  if (opts.store !== undefined) {
    if (opts.store !== 'keychain' && opts.store !== 'vault')
      throw usageError(`--store: expected keychain or vault, got "${opts.store}"`);
    input.store = opts.store;
  }
  if (opts.template !== undefined) input.template = opts.template;
  if (opts.allowNoCode) input.allowNoCode = true;
  // One list: the account's protocol decides whether they are SSH host keys or TLS pins.
  const pins = [...(opts.hostKey ?? []), ...(opts.tlsFingerprint ?? [])];
  if (pins.length) input.pins = pins;
  if (opts.prompt?.length) {
    const { parsePromptRule } = await import('../../../backup/upload.js');
    input.prompts = opts.prompt.map(parsePromptRule);
  }
  if (opts.key) input.key = readableKey(opts.key, await import('node:fs'), await import('node:path'));
  return input;
}

function readableKey(key: string, fs: typeof import('node:fs'), path: typeof import('node:path')): string {
  const file = path.resolve(key);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    throw usageError(`--key: cannot read ${file}`, 'give the path of an OpenSSH private key file');
  }
  return file;
}
