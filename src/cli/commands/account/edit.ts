// `otpbackup account edit NAME`: change an account with the flags of `account add`, or on a terminal
// by answering pre-filled questions. Parse, call src/accounts/edit.ts (the transaction), print.
import type { Command } from 'commander';
import type { EditResult } from '../../../accounts/edit.js';
import { usageError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import { ACCOUNT_DIR_HELP, URL_PATH_HELP } from '../../remote-help.js';
import { printJson } from '../../report.js';
import { addAccountOptions } from '../../target-options.js';
import { type EditOptions, hasChangeFlags, inputFromFlags, type TypedSecrets } from './flags.js';
import { accountServices, load, testedLine } from './shared.js';

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
  const cmd = account
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
  otpbackup account edit nas --url sftp://me@nas2.example.org:2222 --host-key SHA256:…
  otpbackup account edit nas --rename nas-old --no-test
  otpbackup account edit nas --otp-type prompt                 # a person types the code
  otpbackup account edit nas --remote-dir ~/backup             # below the login directory
${URL_PATH_HELP}
`,
    )
    .option('--json', 'print JSON');
  // The flags come from the one option table (target-options.ts); only wording differs here.
  addAccountOptions(cmd, 'edit', {
    url: 'new protocol, user, host and port (and directory, when the URL has a path)',
    remoteDir: ACCOUNT_DIR_HELP,
    passwordEnv: 'environment variable holding the new static password',
    totpSecretEnv: 'environment variable holding a new Base32 seed',
    otpauthUriEnv: 'environment variable holding a new otpauth:// URI',
    qr: 'PNG or JPEG image of a new otpauth:// QR code',
    hostKey: 'sftp: pin this SSH host key instead of the current ones (repeatable)',
    tlsFingerprint: 'ftps: pin this TLS certificate instead of the current ones (repeatable)',
    store: 'keychain or vault: move the stored secrets there',
    prompt: "sftp: keyboard-interactive rule 'REGEX=TEMPLATE', replacing the account's rules (repeatable)",
  });
  cmd.action(async (name: string, opts: EditOptions) => {
    if (hasChangeFlags(opts)) await editAccount(name, opts, ctx);
    else if (ctx.stdin.isTTY && ctx.stdout.isTTY) await editInteractive(name, opts, ctx);
    else
      throw usageError(
        `account edit ${name}: nothing to change`,
        'pass the flags to change (see --help), or run it on a terminal to be asked',
      );
  });
}
