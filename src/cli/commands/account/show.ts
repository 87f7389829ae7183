// `otpbackup account show NAME`: one account; secrets appear as references, never values.
import type { Command } from 'commander';
import type { Account } from '../../../config/types.js';
import type { CliContext } from '../../context.js';
import { printJson } from '../../report.js';
import { type CommonOpts, load } from './shared.js';

export async function showAccount(name: string, opts: CommonOpts, ctx: CliContext): Promise<Account> {
  const [{ getAccount }, { refsOf }] = await Promise.all([
    import('../../../accounts/lookup.js'),
    import('../../../accounts/refs.js'),
  ]);
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

export function registerShow(account: Command, ctx: CliContext): void {
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
    .action(async (name: string, opts: CommonOpts) => {
      await showAccount(name, opts, ctx);
    });
}
