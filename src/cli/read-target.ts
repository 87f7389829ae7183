// Shared by the commands that read a backup (ls, restore, download, verify): the flags that describe
// a URL target (as `upload --to` has them), resolving JOB | ACCOUNT | URL, and the one login.
import type { Command } from 'commander';
import type { TargetOptions } from '../backup/upload.js';
import { OtpBackupError } from '../errors.js';
import type { ReadTarget } from '../restore/target.js';
import type { Transport } from '../transport/types.js';
import type { CliContext } from './context.js';
import { ACCOUNT_OWN_FLAGS, addTargetOptions, onCommandLine, withCliTrust } from './target-options.js';
import type { TransferFlags } from './transfer-options.js';

export interface ReadTargetOptions extends Partial<Omit<TargetOptions, 'to'>>, TransferFlags {
  config?: string;
}

/** The flags of a URL target (one table, shared with upload); refused for jobs and accounts, which have their own. */
export function addUrlTargetOptions(cmd: Command): Command {
  return addTargetOptions(cmd);
}

const URL_ONLY = [...ACCOUNT_OWN_FLAGS, 'template', 'prompt', 'key'] as const;

/** A JOB (or, with `allow.account`, an ACCOUNT) of the config, or (with `allow.url`) a URL. */
export async function resolveReadTarget(
  spec: string,
  opts: ReadTargetOptions,
  ctx: CliContext,
  allow: { url: boolean; account: boolean },
): Promise<ReadTarget> {
  const { URL_RE, jobTarget, namedTarget } = await import('../restore/target.js');
  if (URL_RE.test(spec)) {
    if (!allow.url) throw new OtpBackupError('usage', `"${spec}" is a URL; this command takes a job name`);
    const { accountFromTarget } = await import('../backup/upload.js');
    const account = accountFromTarget({ ...(opts as TargetOptions), to: spec }, ctx.env);
    return { account, root: account.remoteDir, label: spec.replace(/\/\/[^@/]*@/, '//') };
  }
  // From the command line they are a mistake; from OTPBACKUP_<FLAG> (set for URL targets in a CI
  // job) they simply do not apply.
  for (const f of URL_ONLY) {
    if (onCommandLine(opts, f))
      throw new OtpBackupError(
        'usage',
        `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with a URL; "${spec}" has its own settings`,
      );
  }
  const { loadConfig } = await import('../config/load.js');
  const config = await loadConfig(ctx.env, opts.config);
  const t = allow.account ? namedTarget(config, spec) : jobTarget(config, spec);
  const account = { ...t.account, trust: withCliTrust(t.account.trust, opts) };
  if (opts.otpReuse === 'allow') account.otp = { ...account.otp, reuse: 'allow' };
  const { withConnectionsFlag } = await import('../backup/upload.js');
  return { ...t, account: withConnectionsFlag(account, opts.connections) };
}

/** One login for the whole command, under the account's login discipline. */
export async function connectReadTarget(
  t: ReadTarget,
  opts: ReadTargetOptions,
  ctx: CliContext,
): Promise<Transport> {
  const { transferSettings } = await import('./transfer-options.js');
  const account = transferSettings(opts).apply(t.account);
  if (t.config) return ctx.connect(account, { prompt: 'terminal', config: t.config });
  const { connectOptions } = await import('./commands/upload.js');
  return ctx.connect(account, connectOptions(account, opts));
}

/** Parses --at: ISO 8601 (with or without a zone: none means local time) or a Unix time in seconds. */
export function parseAt(text: string): number {
  const t = /^\d{9,11}$/.test(text) ? Number(text) * 1000 : Date.parse(text.replace(' ', 'T'));
  if (Number.isNaN(t))
    throw new OtpBackupError('usage', `--at: "${text}" is not a time`, {
      hint: "give e.g. '2026-11-30T14:00' (local time), '2026-11-30T13:00Z' or a Unix time",
    });
  return t;
}
