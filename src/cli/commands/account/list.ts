// `otpbackup account list`: the accounts and the jobs that use them, as a table or --json.
import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { printJson } from '../../report.js';
import { type CommonOpts, load } from './shared.js';

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

export function registerList(account: Command, ctx: CliContext): void {
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
    .action(async (opts: CommonOpts) => {
      await listAccounts(opts, ctx);
    });
}
