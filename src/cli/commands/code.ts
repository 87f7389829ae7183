// `otpbackup code`: print the current one-time code, and nothing else, on stdout.
// The seed comes from an environment variable, a file or stdin, never from an argument: arguments
// are visible to every user through ps and /proc.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { OtpBackupError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { addOptions, flagName } from '../target-options.js';

interface CodeOptions {
  totpSecretEnv?: string;
  secretFile?: string;
  secretStdin?: boolean;
  otpauthUriEnv?: string;
  algorithm?: string;
  digits?: string;
  period?: string;
  t0?: string;
  at?: string;
  counter?: string;
  remaining?: boolean;
  use?: boolean;
  config?: string;
}

const SOURCES = '--totp-secret-env VAR, --secret-file FILE, --secret-stdin or --otpauth-uri-env VAR';

const EXAMPLES = `
Examples:
  $ export SEED=JBSWY3DPEHPK3PXP          # better: read it from a password manager
  $ otpbackup code --totp-secret-env SEED
  $ otpbackup code --totp-secret-env SEED --algorithm sha256 --digits 8 --period 60
  $ otpbackup code --secret-file ~/.config/otpbackup/seed --remaining
  $ pass show ftp/seed | otpbackup code --secret-stdin
  $ OTP_URI='otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP' otpbackup code --otpauth-uri-env OTP_URI
  $ otpbackup code --totp-secret-env SEED --at 2024-05-01T12:00:00Z   # code at a given time
  $ otpbackup code --totp-secret-env SEED --counter 7                  # HOTP code number 7

The seed is Base32 (spaces, dashes and lower case are fine) or "hex:..."; a value starting with
otpauth:// is read as a URI whatever its source. Flags override settings from a URI.
--at takes Unix seconds or ISO-8601; an ISO time without a zone is UTC.
`;

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('code')
    .description('print the current one-time code for a seed (TOTP, or HOTP with --counter)')
    .argument('[account]', 'account from the config file (its seed is read from its secret store)')
    .option('--secret-file <file>', 'read the seed from FILE')
    .option('--secret-stdin', 'read the seed from standard input');
  // Shared with upload and account add; nothing from the environment here: a code is asked for by
  // hand, and OTPBACKUP_DIGITS set for a CI upload must not change the code of another account.
  addOptions(cmd, ['totpSecretEnv', 'otpauthUriEnv', 'algorithm', 'digits', 'period'], {
    env: false,
    help: {
      totpSecretEnv: 'read the seed from environment variable VAR',
      otpauthUriEnv: 'read an otpauth:// URI from environment variable VAR',
      algorithm: 'HMAC algorithm: sha1, sha256 or sha512 (default sha1)',
      digits: 'code length: 6, 7 or 8 (default 6)',
    },
  });
  cmd
    .option('--t0 <unix-seconds>', 'TOTP start time (default 0)')
    .option('--at <time>', 'compute the code for this time (Unix seconds or ISO-8601) instead of now')
    .option('--counter <n>', 'compute the HOTP code for counter N')
    .option('--remaining', 'also print the seconds left in the current step, on stderr')
    .option('--use', 'with an HOTP account: mark the code as spent (advance the stored counter)')
    .addHelpText('after', EXAMPLES)
    .action(async (account: string | undefined, opts: CodeOptions) => {
      await runCode(account, opts, ctx);
    });
}

/** Re-throws a core validation error as a usage error naming the flag. */
function flag<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OtpBackupError) {
      throw new OtpBackupError('usage', `${name}: ${e.message.replace(/^[a-z0-9]+: /, '')}`, {
        hint: e.hint,
      });
    }
    throw e;
  }
}

function number(name: string, raw: string, pattern: RegExp, what: string): number {
  if (!pattern.test(raw.trim())) {
    throw new OtpBackupError('usage', `${name}: must be ${what} (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
  return Number(raw.trim());
}

/** Unix seconds (possibly fractional) or ISO-8601; returns Unix milliseconds. */
export function parseAt(raw: string): number {
  const text = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text)) {
    const hasTime = /[T ]\d/.test(text);
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) && hasTime;
    // Without a zone JavaScript reads date-times as local time; UTC is what servers use.
    const iso = hasTime && !hasZone ? `${text.replace(' ', 'T')}Z` : text.replace(' ', 'T');
    const ms = Date.parse(iso);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new OtpBackupError(
    'usage',
    `--at: not Unix seconds or an ISO-8601 time (got ${JSON.stringify(raw.slice(0, 40))})`,
    {
      hint: 'e.g. --at 1700000000 or --at 2024-05-01T12:00:00Z',
    },
  );
}

async function readStdin(stdin: CliContext['stdin']): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.length > 65536)
      throw new OtpBackupError('secret', '--secret-stdin: input is too long for a seed');
  }
  return text;
}

/** Reads the seed text from the one source given, returning it with a name for error messages. */
async function readSecretText(
  opts: CodeOptions,
  ctx: CliContext,
): Promise<{ text: string; source: string; uri: boolean }> {
  const given = [
    opts.totpSecretEnv !== undefined && flagName(opts, 'totpSecretEnv'),
    opts.secretFile !== undefined && '--secret-file',
    opts.secretStdin && '--secret-stdin',
    opts.otpauthUriEnv !== undefined && flagName(opts, 'otpauthUriEnv'),
  ].filter((x): x is string => Boolean(x));
  if (given.length === 0) throw new OtpBackupError('usage', 'no seed given', { hint: `use ${SOURCES}` });
  if (given.length > 1) {
    throw new OtpBackupError('usage', `${given.join(' and ')} cannot be combined`, {
      hint: 'give the seed one way',
    });
  }
  const envName = opts.totpSecretEnv ?? opts.otpauthUriEnv;
  if (envName !== undefined) {
    const flag =
      opts.otpauthUriEnv !== undefined ? flagName(opts, 'otpauthUriEnv') : flagName(opts, 'totpSecretEnv');
    // A seed given where the name belongs must not be echoed back in the error.
    const looksLikeSeed = envName.length >= 16 && /^[A-Za-z2-7 =-]+$/.test(envName) && !(envName in ctx.env);
    if (looksLikeSeed || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envName)) {
      throw new OtpBackupError('usage', `${flag}: expects the name of an environment variable, not a value`, {
        hint: `e.g. export SEED=... then ${flag} SEED (the value was not printed)`,
      });
    }
    const { envFlagValue } = await import('../../secrets/env.js');
    const value = envFlagValue(ctx.env, flag, envName);
    return { text: value, source: `$${envName}`, uri: opts.otpauthUriEnv !== undefined };
  }
  if (opts.secretFile !== undefined) {
    const file = opts.secretFile;
    try {
      return { text: await readFile(file, 'utf8'), source: file, uri: false };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
      throw new OtpBackupError('secret', `--secret-file: cannot read ${file}: ${why}`, {
        hint: 'check the path and its permissions',
      });
    }
  }
  return { text: await readStdin(ctx.stdin), source: 'stdin', uri: false };
}

async function runCode(account: string | undefined, opts: CodeOptions, ctx: CliContext): Promise<void> {
  if (account !== undefined) return accountCode(account, opts, ctx);
  const otp = await import('../../otp/index.js');
  const { registerSecret } = await import('../../secrets/redact.js');

  const { text: rawText, source, uri: mustBeUri } = await readSecretText(opts, ctx);
  const text = rawText.trim();
  registerSecret(text);
  if (text === '')
    throw new OtpBackupError('secret', `seed from ${source} is empty`, { hint: `use ${SOURCES}` });

  // Settings: defaults, then the URI's, then flags.
  let type: 'totp' | 'hotp' = 'totp';
  let secret: Uint8Array;
  let algorithm: string = 'sha1';
  let digits = 6;
  let period = 30;
  let counter: number | undefined;
  const isUri = /^otpauth:/i.test(text);
  if (mustBeUri && !isUri) {
    throw new OtpBackupError(
      'usage',
      `${flagName(opts, 'otpauthUriEnv')}: ${source} does not hold an otpauth:// URI`,
      {
        hint: 'for a plain Base32 seed use --totp-secret-env',
      },
    );
  }
  try {
    if (isUri) {
      const info = otp.parseOtpauthUri(text);
      ({ type, secret, algorithm, digits, period } = info);
      counter = info.counter;
    } else {
      secret = otp.parseSecret(text);
    }
  } catch (e) {
    if (e instanceof OtpBackupError) {
      const msg = e.message.replace(/^secret: /, '');
      throw new OtpBackupError(e.code, `seed from ${source}: ${msg}`, { hint: e.hint });
    }
    throw e;
  }
  registerSecret(otp.encodeBase32(secret));

  if (opts.algorithm !== undefined)
    algorithm = flag('--algorithm', () => otp.checkAlgorithm(opts.algorithm?.toLowerCase()));
  if (opts.digits !== undefined) {
    const raw = opts.digits;
    digits = flag('--digits', () => otp.checkDigits(number('--digits', raw, /^\d+$/, otp.DIGITS_TEXT)));
  }
  if (opts.counter !== undefined) {
    const raw = opts.counter;
    type = 'hotp';
    counter = flag('--counter', () =>
      otp.checkCounter(number('--counter', raw, /^\d+$/, 'a whole number >= 0')),
    );
  }
  const p = { algorithm: otp.checkAlgorithm(algorithm), digits };

  if (type === 'hotp') {
    for (const [name, v] of [
      ['--at', opts.at],
      ['--period', opts.period],
      ['--t0', opts.t0],
      ['--remaining', opts.remaining],
    ] as const) {
      if (v !== undefined) throw new OtpBackupError('usage', `${name} applies to TOTP only, not HOTP`);
    }
    ctx.stdout.write(`${otp.hotp(secret, counter ?? 0, p)}\n`);
    return;
  }

  if (opts.period !== undefined) {
    const raw = opts.period;
    period = flag('--period', () =>
      otp.checkPeriod(number('--period', raw, /^\d+(\.\d+)?$/, 'a positive number')),
    );
  }
  const t0 = opts.t0 === undefined ? 0 : number('--t0', opts.t0, /^-?\d+$/, 'whole Unix seconds');
  const now = opts.at === undefined ? ctx.clock.now() : parseAt(opts.at);
  const r = flag('--at', () => otp.totpAt(secret, now, { ...p, period, t0 }));
  ctx.stdout.write(`${r.code}\n`);
  if (opts.remaining) ctx.stderr.write(`${Math.ceil(r.remainingMs / 1000)}s remaining\n`);
}

/** The code for a configured account. HOTP shows the next counter's code without spending it
 * unless --use (then the counter advances, exactly as a login would). */
async function accountCode(name: string, opts: CodeOptions, ctx: CliContext): Promise<void> {
  const [{ loadConfig }, { resolveSecret }, otp, { registerSecret }] = await Promise.all([
    import('../../config/load.js'),
    import('../../secrets/resolve.js'),
    import('../../otp/index.js'),
    import('../../secrets/redact.js'),
  ]);
  const config = await loadConfig(ctx.env, opts.config);
  const a = config.accounts[name];
  if (!a) {
    throw new OtpBackupError('usage', `no account "${name}" in ${config.path}`, {
      hint: 'run `otpbackup account list` to see the accounts',
    });
  }
  if ((a.otp.type !== 'totp' && a.otp.type !== 'hotp') || !a.otp.secret) {
    throw new OtpBackupError(
      'usage',
      `account "${name}" has otp.type ${a.otp.type}: there is no seed to compute a code from`,
    );
  }
  const deps = { env: ctx.env, config };
  const text = (await resolveSecret(a.otp.secret, deps, `accounts.${name}.otp.secret`)).trim();
  registerSecret(text);
  const secret = /^otpauth:/i.test(text) ? otp.parseOtpauthUri(text).secret : otp.parseSecret(text);
  const p = { algorithm: a.otp.algorithm, digits: a.otp.digits };
  if (a.otp.type === 'hotp') {
    if (opts.use) {
      // The login layer's own source: advances and persists the counter under its lock.
      const { createCredentialSource } = await import('../../transport/login.js');
      const getSecret = (ref: string) => resolveSecret(ref, deps);
      const c = await createCredentialSource({
        account: a,
        env: ctx.env,
        clock: ctx.clock,
        getSecret,
      }).next();
      ctx.stdout.write(`${c.code}\n`);
      return;
    }
    const [{ accountStatePath }, { readJson }] = await Promise.all([
      import('../../config/paths.js'),
      import('../../config/state-file.js'),
    ]);
    const st = await readJson<{ counter?: number }>(accountStatePath(ctx.env, name));
    const counter = Math.max(st?.counter ?? 0, a.otp.counter ?? 0);
    ctx.stdout.write(`${otp.hotp(secret, counter, p)}\n`);
    return;
  }
  if (opts.use) throw new OtpBackupError('usage', '--use applies to HOTP accounts only');
  const now = opts.at === undefined ? ctx.clock.now() : parseAt(opts.at);
  const r = otp.totpAt(secret, now, { ...p, period: a.otp.period, t0: a.otp.t0 });
  ctx.stdout.write(`${r.code}\n`);
  if (opts.remaining) ctx.stderr.write(`${Math.ceil(r.remainingMs / 1000)}s remaining\n`);
}
