// `otpbackup account list|show|add|remove`. Secrets are read from environment variables named on the
// command line (never from argv itself), stored in the keychain or vault, and the config gets only
// references. Unless --no-test, an account is saved only after a live login and probe file worked.
import type { Command } from 'commander';
import type { Account, Algorithm, Config } from '../../config/types.js';
import { OtpBackupError, usageError } from '../../errors.js';
import { envFlagValue } from '../../secrets/env.js';
import type { PromptLogEntry } from '../../transport/prompts.js';
import type { CliContext } from '../context.js';
import { ACCOUNT_DIR_HELP, URL_PATH_HELP } from '../remote-help.js';
import { printJson } from '../report.js';
import { checkTemplateHasCode } from '../template-check.js';

interface CommonOpts {
  config?: string;
  json?: boolean;
}

const CONFIG_HELP = 'config file (default: $OTPBACKUP_CONFIG or ~/.config/otpbackup/config.yaml)';

export async function load(ctx: CliContext, opts: CommonOpts): Promise<Config> {
  const { loadConfig } = await import('../../config/load.js');
  return loadConfig(ctx.env, opts.config);
}

export function getAccount(config: Config, name: string): Account {
  const a = config.accounts[name];
  if (!a) {
    throw usageError(
      `no account "${name}" in ${config.path}`,
      Object.keys(config.accounts).length
        ? `known accounts: ${Object.keys(config.accounts).join(', ')}`
        : 'add one with `otpbackup account add`',
    );
  }
  return a;
}

/** The account's secret references, by role. */
export function refsOf(a: Account): Record<string, string> {
  const refs: Record<string, string> = {};
  if (a.password) refs.password = a.password;
  if (a.otp.secret) refs.otpSecret = a.otp.secret;
  if (a.privateKeyPassphrase) refs.privateKeyPassphrase = a.privateKeyPassphrase;
  return refs;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export async function listAccounts(opts: CommonOpts, ctx: CliContext) {
  const config = await load(ctx, opts);
  const accounts = Object.values(config.accounts).map((a) => ({
    name: a.name,
    protocol: a.protocol,
    host: a.host,
    port: a.port,
    user: a.user,
    remoteDir: a.remoteDir,
    otp: a.otp.type,
    jobs: Object.values(config.jobs)
      .filter((j) => j.account === a.name)
      .map((j) => j.name),
  }));
  if (opts.json) {
    printJson(ctx, { config: config.path, accounts }, { pretty: true });
  } else if (!accounts.length) {
    ctx.stdout.write(`no accounts in ${config.path}\n`);
  } else {
    ctx.stdout.write(
      table([
        ['NAME', 'PROTOCOL', 'HOST', 'PORT', 'USER', 'OTP', 'JOBS'],
        ...accounts.map((a) => [
          a.name,
          a.protocol,
          a.host,
          String(a.port),
          a.user,
          a.otp,
          a.jobs.join(',') || '-',
        ]),
      ]),
    );
  }
  return accounts;
}

export async function showAccount(name: string, opts: CommonOpts, ctx: CliContext): Promise<Account> {
  const a = getAccount(await load(ctx, opts), name);
  if (opts.json) {
    printJson(ctx, { account: a }, { pretty: true });
    return a;
  }
  const lines = [
    `name:       ${a.name}`,
    `server:     ${a.protocol}://${a.user}@${a.host}:${a.port}`,
    `remote dir: ${a.remoteDir}${a.remoteDir === '.' || a.remoteDir === '~' ? ' (the login directory)' : ''}`,
    `template:   ${a.template}`,
    `otp:        ${a.otp.type}${a.otp.type === 'totp' || a.otp.type === 'hotp' ? `, ${a.otp.algorithm}, ${a.otp.digits} digits` : ''}${a.otp.type === 'totp' ? `, ${a.otp.period} s` : ''}`,
  ];
  for (const [role, ref] of Object.entries(refsOf(a))) lines.push(`${`${role}:`.padEnd(11)} ${ref}`);
  if (a.otp.command) lines.push(`otp command: ${a.otp.command.join(' ')}`);
  if (a.trust.hostKeys?.length) lines.push(`host keys:  ${a.trust.hostKeys.join(', ')}`);
  if (a.trust.tlsFingerprints?.length) lines.push(`tls pins:   ${a.trust.tlsFingerprints.join(', ')}`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return a;
}

/** Keychain entries under our own service and vault entries are ours to delete; others are the user's. */
export function ownedByUs(ref: string): boolean {
  if (ref.startsWith('vault:')) return true;
  if (!ref.startsWith('keychain:')) return false;
  const key = ref.slice('keychain:'.length);
  return !key.includes('/') || key.startsWith('otpbackup/');
}

export async function removeAccountCommand(
  name: string,
  opts: CommonOpts & { yes?: boolean },
  ctx: CliContext,
) {
  const config = await load(ctx, opts);
  const a = getAccount(config, name);
  if (!opts.yes) {
    if (!ctx.stdin.isTTY) throw usageError(`removing account "${name}" needs confirmation`, 'pass --yes');
    const { confirm } = await import('@inquirer/prompts');
    const ok = await confirm({ message: `Remove account "${name}" and its stored secrets?`, default: false });
    if (!ok) throw new OtpBackupError('interrupted', 'not removed');
  }
  const { removeAccount } = await import('../../config/save.js');
  await removeAccount(ctx.env, opts.config, name);
  const { deleteSecret } = await import('../../secrets/resolve.js');
  const deps = { env: ctx.env, config };
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const ref of Object.values(refsOf(a))) {
    if (ownedByUs(ref) && (await deleteSecret(ref, deps))) deleted.push(ref);
    else kept.push(ref);
  }
  if (opts.json) printJson(ctx, { removed: name, deletedSecrets: deleted, keptSecrets: kept });
  else {
    ctx.stdout.write(`removed account ${name}${deleted.length ? `; deleted ${deleted.join(', ')}` : ''}\n`);
    if (kept.length) ctx.stdout.write(`left alone (not otpbackup's own): ${kept.join(', ')}\n`);
  }
}

export function otpReuse(v: string | undefined): 'forbid' | 'allow' {
  if (v === undefined || v === 'forbid' || v === 'allow') return v ?? 'forbid';
  throw new OtpBackupError('usage', `--otp-reuse: expected forbid or allow, got "${v.slice(0, 40)}"`);
}

export interface AddOptions extends CommonOpts {
  url: string;
  /** Config form ("." = login directory, relative below it, or absolute); overrides the URL's path. */
  remoteDir?: string;
  passwordEnv?: string;
  totpSecretEnv?: string;
  otpauthUriEnv?: string;
  hotp?: boolean;
  template?: string;
  trustHostKey?: string[];
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
  /**
   * Secrets typed on the terminal (interactive add/edit), used instead of the --…-env variables. Not a
   * flag: the values stay in this process and never enter an environment a child could inherit.
   */
  typed?: { otp?: string; otpIsUri?: boolean; password?: string };
  /** --allow-no-code: accept a --template without ${TOTP}/${HOTP}/${OTP} on purpose. */
  allowNoCode?: boolean;
}

/** The static password: typed on the terminal, or from the variable --password-env names. */
export function givenPassword(opts: Pick<AddOptions, 'typed' | 'passwordEnv'>, ctx: CliContext) {
  if (opts.typed?.password !== undefined) return opts.typed.password;
  return opts.passwordEnv ? fromEnv(ctx, '--password-env', opts.passwordEnv) : undefined;
}

/** `--prompt` and `--key`: how an SFTP server's login is answered beyond the default rules. */
export async function applySftpFlags(
  account: Account,
  opts: Pick<AddOptions, 'prompt' | 'key'>,
): Promise<void> {
  for (const [flag, given] of [
    ['--prompt', opts.prompt?.length],
    ['--key', opts.key],
  ] as const) {
    if (given && account.protocol !== 'sftp')
      throw usageError(`${flag} is for sftp:// accounts only`, 'FTP logins are shaped by --template');
  }
  if (opts.prompt?.length) {
    const { parsePromptRule } = await import('../../backup/upload.js');
    account.prompts = opts.prompt.map(parsePromptRule);
  }
  if (opts.key) {
    const [{ accessSync, constants }, { resolve }] = await Promise.all([
      import('node:fs'),
      import('node:path'),
    ]);
    const file = resolve(opts.key);
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw usageError(`--key: cannot read ${file}`, 'give the path of an OpenSSH private key file');
    }
    account.privateKey = file;
    account.authMethods = ['publickey', 'keyboard-interactive'];
  }
}

/** The value of the variable `flag` names; the argument itself never appears in an error. */
export function fromEnv(ctx: CliContext, flag: string, name: string): string {
  return envFlagValue(ctx.env, flag, name);
}

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`${flag}: expected a whole number, got "${v}"`);
  return Number(v);
}

export interface SeedParams {
  type: 'totp' | 'hotp';
  algorithm: Algorithm;
  digits: number;
  period: number;
  counter?: number;
}

/**
 * The seed and OTP settings given by --totp-secret-env, --otpauth-uri-env or --qr (at most one), with
 * --algorithm/--digits/--period applied; undefined when none of the three was given.
 */
export async function readSeed(
  opts: AddOptions | Omit<AddOptions, 'url'>,
  ctx: CliContext,
  base?: Partial<SeedParams>,
): Promise<{ seed: Uint8Array; params: SeedParams } | undefined> {
  const otp = await import('../../otp/index.js');
  if ([opts.totpSecretEnv, opts.otpauthUriEnv, opts.qr].filter(Boolean).length > 1)
    throw usageError('use only one of --totp-secret-env, --otpauth-uri-env and --qr');
  const plain = (): SeedParams => ({
    type: opts.hotp || base?.type === 'hotp' ? 'hotp' : 'totp',
    algorithm: base?.algorithm ?? 'sha1',
    digits: base?.digits ?? 6,
    period: base?.period ?? 30,
  });
  const typed = opts.typed?.otp;
  const qrText = opts.qr ? await (await import('../account-interactive.js')).readQrFile(opts.qr) : undefined;
  let seed: Uint8Array;
  let params: SeedParams;
  if (qrText !== undefined && !/^otpauth:\/\//i.test(qrText)) {
    seed = otp.parseSecret(qrText);
    params = plain();
  } else if (opts.otpauthUriEnv || qrText !== undefined || (typed !== undefined && opts.typed?.otpIsUri)) {
    const info = otp.parseOtpauthUri(
      qrText ?? (opts.otpauthUriEnv ? fromEnv(ctx, '--otpauth-uri-env', opts.otpauthUriEnv) : typed!),
    );
    seed = info.secret;
    params = { type: info.type, algorithm: info.algorithm, digits: info.digits, period: info.period };
    if (info.counter !== undefined) params.counter = info.counter;
  } else if (opts.totpSecretEnv || typed !== undefined) {
    seed = otp.parseSecret(
      opts.totpSecretEnv ? fromEnv(ctx, '--totp-secret-env', opts.totpSecretEnv) : typed!,
    );
    params = plain();
  } else return undefined;
  applyOtpFlags(opts, params, otp);
  return { seed, params };
}

/** --algorithm, --digits and --period over `params`. */
export function applyOtpFlags(
  opts: Pick<AddOptions, 'algorithm' | 'digits' | 'period'>,
  params: { algorithm: Algorithm; digits: number; period: number },
  otp: typeof import('../../otp/index.js'),
): void {
  if (opts.algorithm) params.algorithm = otp.checkAlgorithm(opts.algorithm, '--algorithm');
  const digits = intFlag('--digits', opts.digits);
  if (digits !== undefined) params.digits = otp.checkDigits(digits, '--digits');
  const period = intFlag('--period', opts.period);
  if (period !== undefined) params.period = otp.checkPeriod(period, '--period');
}

export async function addAccount(name: string, opts: AddOptions, ctx: CliContext) {
  const [{ NAME_RE, DEFAULTS, defaultTemplate }, { parseTargetUrl }, otp, secrets, { saveAccount }] =
    await Promise.all([
      import('../../config/schema.js'),
      import('../../config/url.js'),
      import('../../otp/index.js'),
      import('../../secrets/resolve.js'),
      import('../../config/save.js'),
    ]);
  if (!NAME_RE.test(name))
    throw usageError(`account name "${name}" is not allowed`, 'use letters, digits, ".", "_" and "-"');
  const config = await load(ctx, opts);
  if (config.accounts[name])
    throw usageError(`account "${name}" already exists`, 'remove it first, or pick another name');
  const target = parseTargetUrl(opts.url, '--url');
  // "." for a URL without a path: the login directory (see url.ts for each scheme's rule).
  const remoteDir = opts.remoteDir ?? target.remoteDir;
  if (!remoteDir || /[\r\n\0]/.test(remoteDir))
    throw usageError('--remote-dir: expected a directory path without control characters');

  if (opts.otpType !== undefined && opts.otpType !== 'prompt')
    throw usageError(
      `--otp-type: expected prompt, got "${opts.otpType.slice(0, 20)}"`,
      'totp and hotp are set by the seed flags (--hotp for HOTP)',
    );
  // otp.type: prompt stores no seed: a person types each code at login.
  const typed = opts.otpType === 'prompt';
  const given = await readSeed(opts, ctx);
  if (typed && given) throw usageError('--otp-type prompt takes no seed');
  if (!given && !typed)
    throw usageError(
      'the one-time password seed is missing',
      'pass --totp-secret-env VAR, --otpauth-uri-env VAR or --qr FILE (or --otp-type prompt)',
    );
  const seed = given?.seed ?? new Uint8Array();
  const params: SeedParams = given?.params ?? { type: 'totp', algorithm: 'sha1', digits: 6, period: 30 };
  if (!given) applyOtpFlags(opts, params, otp);
  const password = givenPassword(opts, ctx);

  let store = opts.store;
  let reason = 'chosen with --store';
  if (store === undefined) ({ store, reason } = await secrets.chooseDefaultStore(ctx.env));
  if (store !== 'keychain' && store !== 'vault')
    throw usageError(`--store: expected keychain or vault, got "${store}"`);
  const ref = (what: string) =>
    store === 'keychain' ? `keychain:otpbackup/${name}-${what}` : `vault:${name}/${what}`;

  const account: Account = {
    name,
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    user: target.user,
    remoteDir,
    template: opts.template ?? defaultTemplate(password !== undefined),
    otp: {
      ...DEFAULTS.otp,
      type: typed ? 'prompt' : params.type,
      ...(typed ? {} : { secret: ref('otp') }),
      algorithm: params.algorithm,
      digits: params.digits,
      period: params.period,
      reuse: otpReuse(opts.otpReuse),
    },
    trust: {},
  };
  const tls = target.protocol === 'ftps' || target.protocol === 'ftps-implicit';
  if (!tls)
    (await import('../../transport/hostkeys.js')).checkHostKeyFlag('--trust-host-key', opts.trustHostKey);
  if (opts.trustHostKey?.length)
    account.trust = tls ? { tlsFingerprints: opts.trustHostKey } : { hostKeys: opts.trustHostKey };
  await applySftpFlags(account, opts);
  if (params.type === 'hotp') account.otp.counter = params.counter ?? 0;
  if (password !== undefined) account.password = ref('password');
  otp.parseTemplate(account.template);
  if (opts.template !== undefined) checkTemplateHasCode(opts.template, account.protocol, opts.allowNoCode);

  const deps: import('../../secrets/resolve.js').SecretDeps = { env: ctx.env, config };
  const ask = passphraseAsker(ctx);
  if (ask) deps.askPassphrase = ask;
  // The store must take the secrets afterwards: checked before a login spends a one-time code.
  if (!typed || password !== undefined) await secrets.checkWritable(store, deps);

  let tested: import('../../backup/account-test.js').ProbeResult | undefined;
  if (opts.test !== false) {
    // Nothing is stored before the server has accepted a login and a probe file.
    tested = await liveTest(account, ctx, opts.trustHostKey ?? [], (ref) => {
      if (ref === account.otp.secret) return Promise.resolve(otp.encodeBase32(seed));
      if (ref === account.password && password !== undefined) return Promise.resolve(password);
      return Promise.reject(new OtpBackupError('secret', `secret ${ref} is not available during the test`));
    });
  }

  const stored: string[] = [];
  try {
    if (account.otp.secret) {
      await secrets.storeSecret(account.otp.secret, otp.encodeBase32(seed), deps);
      stored.push(account.otp.secret);
    }
    if (password !== undefined) {
      await secrets.storeSecret(account.password!, password, deps);
      stored.push(account.password!);
    }
    // Validates the whole config; an invalid account writes nothing.
    await saveAccount(ctx.env, opts.config, account);
  } catch (e) {
    for (const r of stored) await secrets.deleteSecret(r, deps).catch(() => {});
    throw e;
  }
  const result = {
    added: name,
    config: config.path,
    store,
    reason,
    references: refsOf(account),
    tested: tested !== undefined,
    ...(tested?.fingerprint ? { fingerprint: tested.fingerprint } : {}),
  };
  if (opts.json) printJson(ctx, result, { pretty: true });
  else {
    ctx.stdout.write(`added account ${name} to ${config.path}; secrets in the ${store} (${reason})\n`);
    if (tested)
      ctx.stdout.write(
        `login and probe file OK${tested.fingerprint ? `; server ${tested.fingerprint} (${tested.fingerprintSource})` : ''}\n`,
      );
  }
  return result;
}

/**
 * Asks for what the flags left out, then adds as from flags; the typed secrets stay in this process.
 * When that fails (most often the test login: a wrong port, directory or seed), nothing is saved and
 * the person may edit the answers, each one pre-filled, and try again instead of typing all anew.
 */
async function addInteractive(name: string | undefined, opts: AddOptions, ctx: CliContext) {
  const { askAccount, interruptible } = await import('../account-interactive.js');
  let previous: import('../account-interactive.js').InteractiveAnswers | undefined;
  for (;;) {
    const a = await askAccount({ name, template: opts.template, previous });
    try {
      return await addAnswered(a, opts, ctx);
    } catch (e) {
      if (!(e instanceof OtpBackupError) || e.code === 'interrupted') throw e;
      // The error is part of the question: declined, it is printed once more as the command's error.
      const why = `${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`;
      const { confirm } = await import('@inquirer/prompts');
      const again = await interruptible(() =>
        confirm({ message: `${why}\nNothing was saved. Edit the answers and try again?`, default: true }),
      );
      if (!again) throw e;
      previous = a;
    }
  }
}

async function addAnswered(
  a: import('../account-interactive.js').InteractiveAnswers,
  opts: AddOptions,
  ctx: CliContext,
) {
  const { interruptible } = await import('../account-interactive.js');
  // The typed secrets are handed on in memory (never through an environment children inherit).
  const o: AddOptions = { ...opts, url: a.url, remoteDir: a.remoteDir, template: a.template, typed: {} };
  if (a.qrFile) o.qr = a.qrFile;
  else if (a.isUri) o.typed = { otp: a.otp, otpIsUri: true };
  else
    Object.assign(o, {
      typed: { otp: a.otp },
      algorithm: a.algorithm,
      digits: a.digits,
      period: a.period,
    });
  if (a.password !== undefined) o.typed = { ...o.typed, password: a.password };
  return interruptible(() => addAccount(a.name, o, ctx));
}

/**
 * Asks for the vault passphrase on a terminal (undefined without one). A new vault's passphrase is
 * asked twice and must have MIN_PASSPHRASE_LENGTH characters; add and edit ask the same way.
 */
export function passphraseAsker(
  ctx: CliContext,
): ((req: import('../../secrets/vault.js').PassphraseRequest) => Promise<string>) | undefined {
  if (!ctx.stdin.isTTY) return undefined;
  return async (req) => {
    const [{ password: ask }, { MIN_PASSPHRASE_LENGTH: min }] = await Promise.all([
      import('@inquirer/prompts'),
      import('../../secrets/vault.js'),
    ]);
    if (!req.creating) return ask({ message: `Passphrase for the vault ${req.path}:`, mask: true });
    const p = await ask({
      message: `New passphrase for the vault ${req.path}:`,
      mask: true,
      validate: (v) => [...v].length >= min || `at least ${min} characters`,
    });
    if ((await ask({ message: 'Repeat the passphrase:', mask: true })) !== p)
      throw usageError('the passphrases differ', 'nothing was stored; run it again');
    return p;
  };
}

/** Asks a yes/no question on the terminal, or undefined without one. */
export function asker(ctx: CliContext): ((q: string) => Promise<boolean>) | undefined {
  if (!ctx.stdin.isTTY || !ctx.stdout.isTTY) return undefined;
  return async (message) => {
    const { confirm } = await import('@inquirer/prompts');
    return confirm({ message, default: false });
  };
}

/** Trust the server's identity (pin, known, or asked), then log in and write+remove a probe file. */
export async function liveTest(
  account: Account,
  ctx: CliContext,
  pins: string[],
  getSecret: (ref: string) => Promise<string>,
) {
  const { establishTrust, probeAccount } = await import('../../backup/account-test.js');
  await establishTrust(account, { env: ctx.env, pins, ask: asker(ctx) });
  const [{ codePrompter }, { waitNotice }] = await Promise.all([
    import('../prompt-code.js'),
    import('../wait-notice.js'),
  ]);
  const onWait = waitNotice(ctx, '--otp-reuse allow');
  return probeAccount(account, {
    env: ctx.env,
    clock: ctx.clock,
    getSecret,
    ...(await probeLogging(ctx, account)),
    promptCode: codePrompter(ctx),
    ...(onWait ? { onWait } : {}),
  });
}

/** "prompt 1: "…" answered by default:code (with the code)" lines, for success and failure alike. */
function promptLines(prompts: PromptLogEntry[]): string[] {
  return prompts.map(
    (p, i) =>
      `prompt ${i + 1}:     ${JSON.stringify(p.prompt)} answered by ${p.rule}${p.usesCode ? ' (with the code)' : ''}`,
  );
}

/** The ladder of every command (cli/verbosity.ts): login steps at -vv, the protocol with --debug. */
async function probeLogging(ctx: CliContext, account: Account) {
  const { transportLogging } = await import('../verbosity.js');
  return transportLogging(ctx, account.name);
}

export async function testAccount(name: string, opts: CommonOpts, ctx: CliContext) {
  const config = await load(ctx, opts);
  const account = getAccount(config, name);
  const [{ probeAccount }, { resolveSecret }, { codePrompter }, { waitNotice }] = await Promise.all([
    import('../../backup/account-test.js'),
    import('../../secrets/resolve.js'),
    import('../prompt-code.js'),
    import('../wait-notice.js'),
  ]);
  const secretDeps = { env: ctx.env, config };
  const onWait = waitNotice(ctx, `otpbackup account edit ${account.name} --otp-reuse allow`);
  const seen: PromptLogEntry[] = [];
  let r: Awaited<ReturnType<typeof probeAccount>>;
  try {
    r = await probeAccount(account, {
      env: ctx.env,
      clock: ctx.clock,
      getSecret: (ref) => resolveSecret(ref, secretDeps),
      ...(await probeLogging(ctx, account)),
      promptCode: codePrompter(ctx),
      prompts: seen,
      ...(onWait ? { onWait } : {}),
    });
  } catch (e) {
    // What the server asked is the first thing to look at when a login fails.
    if (!opts.json && seen.length) ctx.stderr.write(`${promptLines(seen).join('\n')}\n`);
    throw e;
  }
  if (opts.json) {
    printJson(ctx, r, { pretty: true });
    return r;
  }
  const lines = [`account ${r.account}: login and probe file OK (${r.server})`, ...promptLines(r.prompts)];
  if (r.secondsLeftInStep !== undefined)
    lines.push(`step left:    ${r.secondsLeftInStep} s of the TOTP step at login`);
  if (r.waitMs >= 1000)
    lines.push(
      `wait:         ${Math.round(r.waitMs / 1000)} s before the login (a fresh TOTP step or the refused-login cap), not in the login time`,
    );
  lines.push(`login:        ${r.loginMs} ms`, `round trip:   ${r.rttMs} ms`);
  if (r.clockOffsetSeconds !== undefined)
    lines.push(
      `clock offset: ${r.clockOffsetSeconds > 0 ? '+' : ''}${r.clockOffsetSeconds} s (server minus local, from the probe file's mtime)`,
    );
  if (r.fingerprint) lines.push(`fingerprint:  ${r.fingerprint} (${r.fingerprintSource})`);
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return r;
}

export function register(program: Command, ctx: CliContext): void {
  const account = program
    .command('account')
    .description('manage server accounts (secrets stay in the keychain or vault)')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account list
  otpbackup account show nas
  NAS_PW=… NAS_SEED=… otpbackup account add nas --url sftp://me@nas:22/backup \\
      --password-env NAS_PW --totp-secret-env NAS_SEED --trust-host-key SHA256:…
  otpbackup account test nas
  otpbackup account edit nas --rename nas2
  otpbackup account remove nas --yes
`,
    );
  account
    .command('list')
    .description('list the accounts')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account list --json
`,
    )
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (opts: CommonOpts) => {
      await listAccounts(opts, ctx);
    });
  account
    .command('show <name>')
    .description('show one account; secrets appear as references, never values')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account show nas
`,
    )
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (name: string, opts: CommonOpts) => {
      await showAccount(name, opts, ctx);
    });
  account
    .command('remove <name>')
    .description('remove an account and the secrets otpbackup stored for it')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account remove nas --yes
`,
    )
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (name: string, opts: CommonOpts & { yes?: boolean }) => {
      await removeAccountCommand(name, opts, ctx);
    });
  account
    .command('test <name>')
    .description('log in, write and remove a probe file, and report prompts, timing and clock offset')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account test nas
  otpbackup account test nas --json
`,
    )
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (name: string, opts: CommonOpts) => {
      await testAccount(name, opts, ctx);
    });
  account
    .command('edit <name>')
    .description(
      'change an account: flags as for `add` (secrets not given again are kept), or interactively on a terminal',
    )
    .addHelpText(
      'after',
      `
Without change flags on a terminal, every question is asked with the current value as its answer
(Enter keeps it; an empty password or seed keeps the stored one). The changed account is tested
(login and probe file) before anything is saved, unless --no-test.

Examples:
  otpbackup account edit nas                                   # on a terminal: asks
  NEW_PW=… otpbackup account edit nas --password-env NEW_PW
  otpbackup account edit nas --url sftp://me@nas2.example.org:2222 --trust-host-key SHA256:…
  otpbackup account edit nas --rename nas-old --no-test
  otpbackup account edit nas --otp-type prompt                 # a person types the code
  otpbackup account edit nas --remote-dir ~/backup             # below the login directory
${URL_PATH_HELP}
`,
    )
    .option('--url <url>', 'new protocol, user, host and port (and directory, when the URL has a path)')
    .option('--remote-dir <dir>', ACCOUNT_DIR_HELP)
    .option('--rename <new-name>', 'rename the account (its jobs, stored secrets and login state follow)')
    .option('--password-env <VAR>', 'environment variable holding the new static password')
    .option('--totp-secret-env <VAR>', 'environment variable holding a new Base32 seed')
    .option('--otpauth-uri-env <VAR>', 'environment variable holding a new otpauth:// URI')
    .option('--qr <file>', 'PNG or JPEG image of a new otpauth:// QR code')
    .option('--hotp', 'the seed is for HOTP (counter based)')
    .option('--otp-type <type>', 'totp, hotp or prompt (the code is typed at each login, on a terminal)')
    .option('--template <template>', "login template, in single quotes: '${PASSWORD}${TOTP}'")
    .option(
      '--allow-no-code',
      'sftp: accept a --template without ${TOTP}, ${HOTP} or ${OTP} (a separate prompt asks for the code)',
    )
    .option(
      '--trust-host-key <SHA256:...>',
      'pin this SSH host key / TLS certificate fingerprint instead of the current ones (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--store <store>', 'keychain or vault: move the stored secrets there')
    .option('--algorithm <alg>', 'sha1, sha256 or sha512')
    .option('--digits <n>', 'code length: 6, 7 or 8')
    .option('--period <seconds>', 'TOTP step')
    .option('--otp-reuse <policy>', 'forbid or allow')
    .option(
      '--prompt <rule>',
      "sftp: keyboard-interactive rule 'REGEX=TEMPLATE', replacing the account's rules (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--key <file>', 'sftp: private key for publickey, then keyboard-interactive for the code')
    .option('--no-test', 'save without logging in and writing a probe file first')
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (name: string, opts: import('../account-edit.js').EditOptions) => {
      const { editAccount, editInteractive, hasChangeFlags } = await import('../account-edit.js');
      if (hasChangeFlags(opts)) await editAccount(name, opts, ctx);
      else if (ctx.stdin.isTTY && ctx.stdout.isTTY) await editInteractive(name, opts, ctx);
      else
        throw usageError(
          `account edit ${name}: nothing to change`,
          'pass the flags to change (see --help), or run it on a terminal to be asked',
        );
    });
  account
    .command('add [name]')
    .description(
      'add an account from flags (secrets from the named environment variables), or interactively on a terminal',
    )
    .addHelpText(
      'after',
      `
Examples:
  export PW=… SEED=…
  otpbackup account add nas --url ftpes://me@nas.example.org/backup --password-env PW \\
      --totp-secret-env SEED --template '\${PASSWORD}\${TOTP}' --store vault
  OTPAUTH='otpauth://totp/…' otpbackup account add box --url sftp://me@box/ --otpauth-uri-env OTPAUTH
  otpbackup account add box2 --url sftp://me@box/~/backup …    # below the home directory
${URL_PATH_HELP}

Interactively, the remote directory is asked as a path: relative or ~/… is below the login directory,
/… is absolute. When the final test login fails, the answers can be edited and the test run again.
`,
    )
    .option('--url <url>', 'ftp://, ftpes://, ftps:// or sftp://user@host[:port][/dir] (paths: see below)')
    .option('--remote-dir <dir>', `${ACCOUNT_DIR_HELP}; instead of the URL's path`)
    .option('--password-env <VAR>', 'environment variable holding the static password')
    .option('--totp-secret-env <VAR>', 'environment variable holding the Base32 seed')
    .option('--otpauth-uri-env <VAR>', 'environment variable holding an otpauth:// URI')
    .option('--qr <file>', 'PNG or JPEG image of the otpauth:// QR code')
    .option('--hotp', 'the seed is for HOTP (counter based), with --totp-secret-env')
    .option(
      '--otp-type <type>',
      'prompt: store no seed; a person types the code at each login (on a terminal)',
    )
    .option('--template <template>', "login template, in single quotes: '${PASSWORD}${TOTP}'")
    .option(
      '--allow-no-code',
      'sftp: accept a --template without ${TOTP}, ${HOTP} or ${OTP} (a separate prompt asks for the code)',
    )
    .option(
      '--trust-host-key <SHA256:...>',
      'accept this SSH host key / TLS certificate fingerprint (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--store <store>', 'keychain or vault (default: keychain when a Secret Service answers)')
    .option('--algorithm <alg>', 'sha1, sha256 or sha512')
    .option('--digits <n>', 'code length: 6, 7 or 8')
    .option('--period <seconds>', 'TOTP step')
    .option(
      '--otp-reuse <policy>',
      'forbid (default) or allow: the server accepts the same code twice (ProFTPD TOTP)',
    )
    .option(
      '--prompt <rule>',
      "sftp: keyboard-interactive rule 'REGEX=TEMPLATE' (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--key <file>', 'sftp: private key for publickey, then keyboard-interactive for the code')
    .option('--no-test', 'save without logging in and writing a probe file first')
    .option('--json', 'print JSON')
    .option('--config <path>', CONFIG_HELP)
    .action(async (name: string | undefined, opts: AddOptions) => {
      const incomplete =
        !name || !opts.url || (!opts.totpSecretEnv && !opts.otpauthUriEnv && !opts.qr && !opts.otpType);
      if (incomplete && ctx.stdin.isTTY && ctx.stdout.isTTY) {
        await addInteractive(name, opts, ctx);
        return;
      }
      if (!name)
        throw usageError('account add: the account name is missing', 'otpbackup account add NAME --url ...');
      if (!opts.url) throw usageError('account add: --url is missing', 'or run it on a terminal to be asked');
      await addAccount(name, opts, ctx);
    });
}
