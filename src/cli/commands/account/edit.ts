// `otpbackup account edit NAME`: change an account with the flags of `account add`, or on a terminal
// by answering pre-filled questions. Parse, call src/accounts/edit.ts (the transaction), print.
import type { Command } from 'commander';
import type { EditResult } from '../../../accounts/edit.js';
import { usageError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import { ACCOUNT_DIR_HELP, URL_PATH_HELP } from '../../remote-help.js';
import { printJson } from '../../report.js';
import { type EditOptions, hasChangeFlags, inputFromFlags, type TypedSecrets } from './flags.js';
import { accountServices, CONFIG_HELP, load, testedLine } from './shared.js';

export async function editAccount(
  name: string,
  opts: EditOptions,
  ctx: CliContext,
  typed?: TypedSecrets,
): Promise<Omit<EditResult, 'probe'>> {
  const [{ editAccount: edit }, input] = await Promise.all([
    import('../../../accounts/edit.js'),
    inputFromFlags('edit', opts, ctx.env, typed),
  ]);
  const { probe, ...result } = await edit(name, input, accountServices(ctx, opts), {
    test: opts.test !== false,
  });
  if (opts.json) printJson(ctx, result, { pretty: true });
  else if (!result.changed.length) ctx.stdout.write(`account ${name}: nothing to change\n`);
  else {
    const renamed = result.renamedFrom !== undefined ? ` (was ${name})` : '';
    ctx.stdout.write(`updated account ${result.edited}${renamed}: ${result.changed.join(', ')}\n`);
    for (const n of result.notes ?? []) ctx.stdout.write(`note: ${n}\n`);
    if (probe) ctx.stdout.write(testedLine(probe));
  }
  return result;
}

/** Asks every field with the current value as the answer; empty secrets keep the stored ones. */
async function editInteractive(name: string, opts: EditOptions, ctx: CliContext) {
  const [{ getAccount }, { askAccountEdit, interruptible }] = await Promise.all([
    import('../../../accounts/lookup.js'),
    import('../../account-interactive.js'),
  ]);
  const old = getAccount(await load(ctx, opts), name);
  const a = await askAccountEdit(old);
  const o: EditOptions = {
    ...opts,
    url: a.url,
    remoteDir: a.remoteDir,
    template: a.template,
    algorithm: a.algorithm,
    digits: a.digits,
    period: a.period,
  };
  if (a.name !== name) o.rename = a.name;
  // Keeping the stored template is not a new choice to question.
  if (a.template === old.template) o.allowNoCode = true;
  // The typed secrets are handed on in memory (never through an environment children inherit).
  const typed: TypedSecrets = {};
  if (a.otp !== undefined) Object.assign(typed, { otp: a.otp, otpIsUri: a.isUri });
  if (a.password !== undefined) typed.password = a.password;
  return interruptible(() => editAccount(name, o, ctx, typed));
}

export function registerEdit(account: Command, ctx: CliContext): void {
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
    .action(async (name: string, opts: EditOptions) => {
      if (hasChangeFlags(opts)) await editAccount(name, opts, ctx);
      else if (ctx.stdin.isTTY && ctx.stdout.isTTY) await editInteractive(name, opts, ctx);
      else
        throw usageError(
          `account edit ${name}: nothing to change`,
          'pass the flags to change (see --help), or run it on a terminal to be asked',
        );
    });
}
