// `otpbackup account test NAME`: log in through the normal path, write and remove a probe file, and
// report what helps debug a login (src/accounts/probe.ts): prompts, step left, timing, clock offset.
import type { Command } from 'commander';
import type { ProbeResult } from '../../../accounts/probe.js';
import type { PromptLogEntry } from '../../../transport/sftp/prompts.js';
import type { CliContext } from '../../context.js';
import { printJson } from '../../report.js';
import { type CommonOpts, load, promptLines } from './shared.js';

export async function testAccount(name: string, opts: CommonOpts, ctx: CliContext): Promise<ProbeResult> {
  const [{ getAccount }, { probeAccount }, { openOptions }] = await Promise.all([
    import('../../../accounts/lookup.js'),
    import('../../../accounts/probe.js'),
    import('../../connect.js'),
  ]);
  const config = await load(ctx, opts);
  const account = getAccount(config, name);
  const seen: PromptLogEntry[] = [];
  let r: ProbeResult;
  try {
    r = await probeAccount(account, {
      ...(await openOptions(ctx, account, { prompt: 'terminal', config })),
      prompts: seen,
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

export function registerTest(account: Command, ctx: CliContext): void {
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
    .action(async (name: string, opts: CommonOpts) => {
      await testAccount(name, opts, ctx);
    });
}
