// `otpbackup account remove NAME`: asks first (or --yes), then removes the account and the secrets
// otpbackup stored for it (src/accounts/remove.ts).
import type { Command } from 'commander';
import { OtpBackupError, usageError } from '../../../errors.js';
import type { CliContext } from '../../context.js';
import { printJson } from '../../report.js';
import { accountServices, type CommonOpts, load } from './shared.js';

export async function removeAccountCommand(
  name: string,
  opts: CommonOpts & { yes?: boolean },
  ctx: CliContext,
) {
  const [{ getAccount }, { removeAccount }] = await Promise.all([
    import('../../../accounts/lookup.js'),
    import('../../../accounts/remove.js'),
  ]);
  getAccount(await load(ctx, opts), name); // a missing account is said before the question
  if (!opts.yes) {
    if (!ctx.stdin.isTTY) throw usageError(`removing account "${name}" needs confirmation`, 'pass --yes');
    const { confirm } = await import('@inquirer/prompts');
    const ok = await confirm({ message: `Remove account "${name}" and its stored secrets?`, default: false });
    if (!ok) throw new OtpBackupError('interrupted', 'not removed');
  }
  // Deleting needs no vault passphrase question: removing a vault entry opens the vault as a run does.
  const services = { ...accountServices(ctx, opts), secrets: ctx.secrets.bind(ctx) };
  const r = await removeAccount(name, services);
  if (opts.json) printJson(ctx, r);
  else {
    const deleted = r.deletedSecrets;
    ctx.stdout.write(`removed account ${name}${deleted.length ? `; deleted ${deleted.join(', ')}` : ''}\n`);
    if (r.keptSecrets.length)
      ctx.stdout.write(`left alone (not otpbackup's own): ${r.keptSecrets.join(', ')}\n`);
  }
}

export function registerRemove(account: Command, ctx: CliContext): void {
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
    .action(async (name: string, opts: CommonOpts & { yes?: boolean }) => {
      await removeAccountCommand(name, opts, ctx);
    });
}
