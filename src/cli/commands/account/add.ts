// `otpbackup account add [NAME]`: from flags (secrets from the named environment variables), or on a
// terminal by answering questions for what the flags left out. Parse, call src/accounts/add.ts, print.
import type { Command } from 'commander';
import type { AddResult } from '../../../accounts/add.js';
import { OtpBackupError, usageError } from '../../../errors.js';
import type { InteractiveAnswers } from '../../account-interactive.js';
import type { CliContext } from '../../context.js';
import { URL_PATH_HELP } from '../../remote-help.js';
import { printJson } from '../../report.js';
import { addAccountOptions } from '../../target-options.js';
import { type AddOptions, inputFromFlags, type TypedSecrets } from './flags.js';
import { accountServices, testedLine } from './shared.js';

export async function addAccount(
  name: string,
  opts: AddOptions,
  ctx: CliContext,
  typed?: TypedSecrets,
): Promise<Omit<AddResult, 'probe'>> {
  const [{ addAccount: add }, input] = await Promise.all([
    import('../../../accounts/add.js'),
    inputFromFlags('add', opts, ctx.env, typed, name),
  ]);
  const { probe, ...result } = await add(input, accountServices(ctx, opts), { test: opts.test !== false });
  if (opts.json) printJson(ctx, result, { pretty: true });
  else {
    ctx.stdout.write(
      `added account ${name} to ${result.config}; secrets in the ${result.store} (${result.reason})\n`,
    );
    if (probe) ctx.stdout.write(testedLine(probe));
  }
  return result;
}

/**
 * Asks for what the flags left out, then adds as from flags; the typed secrets stay in this process.
 * When that fails (most often the test login: a wrong port, directory or seed), nothing is saved and
 * the person may edit the answers, each one pre-filled, and try again instead of typing all anew.
 */
async function addInteractive(name: string | undefined, opts: AddOptions, ctx: CliContext) {
  const { askAccount, interruptible } = await import('../../account-interactive.js');
  let previous: InteractiveAnswers | undefined;
  for (;;) {
    const a = await askAccount({ name, template: opts.template, previous });
    try {
      return await interruptible(() => addAnswered(a, opts, ctx));
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

/** The answers as the flags they stand for; the typed secrets are handed on in memory. */
function addAnswered(a: InteractiveAnswers, opts: AddOptions, ctx: CliContext) {
  const o: AddOptions = { ...opts, url: a.url, remoteDir: a.remoteDir, template: a.template };
  const typed: TypedSecrets = {};
  if (a.qrFile) o.qr = a.qrFile;
  else if (a.isUri) Object.assign(typed, { otp: a.otp, otpIsUri: true });
  else {
    typed.otp = a.otp;
    Object.assign(o, { algorithm: a.algorithm, digits: a.digits, period: a.period });
  }
  if (a.password !== undefined) typed.password = a.password;
  return addAccount(a.name, o, ctx, typed);
}

export function registerAdd(account: Command, ctx: CliContext): void {
  const cmd = account
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
    .option('--json', 'print JSON');
  // The flags come from the one option table (target-options.ts); only wording differs here.
  addAccountOptions(cmd, 'add', {
    passwordEnv: 'environment variable holding the static password',
    totpSecretEnv: 'environment variable holding the Base32 seed',
    otpauthUriEnv: 'environment variable holding an otpauth:// URI',
    hotp: 'the seed is for HOTP (counter based), with --totp-secret-env',
    otpType: 'prompt: store no seed; a person types the code at each login (on a terminal)',
    hostKey: 'sftp: accept this SSH host key fingerprint (repeatable)',
    tlsFingerprint: 'ftps: accept this TLS certificate fingerprint (repeatable)',
    otpReuse: 'forbid (default) or allow: the server accepts the same code twice (ProFTPD TOTP)',
  });
  cmd.action(async (name: string | undefined, opts: AddOptions) => {
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
