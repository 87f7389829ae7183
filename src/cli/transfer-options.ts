// The flags that shape how a command moves data and waits on the network — --bwlimit, --timeout,
// --connect-timeout, --retries — registered from the option table for `run`, `upload`, `download`
// and `restore`, and parsed here. They override the account's (and job's) settings for this one command.
import type { Command } from 'commander';
import type { Account } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { type BandwidthLimiter, createLimiter, rateOrThrow } from '../transport/bwlimit.js';
import { addGroup } from './target-options.js';

export interface TransferFlags {
  bwlimit?: string;
  timeout?: string;
  connectTimeout?: string;
  retries?: string;
}

/** The flags, from the one option table (target-options.ts). */
export function addTransferOptions(cmd: Command): Command {
  return addGroup(cmd, 'transfer');
}

function seconds(v: string, flag: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 86_400)
    throw new OtpBackupError('usage', `${flag} "${v}" is not a number of seconds`, {
      hint: `give seconds greater than 0, e.g. ${flag} 60`,
    });
  return n;
}

/** The validated flags: a bad value is one usage line naming the flag, before anything connects. */
export interface TransferSettings {
  /** The run's one bucket (--bwlimit), when given and not 0. */
  limiter?: BandwidthLimiter;
  /** --bwlimit 0: no limit, over the job's and account's. */
  unlimited: boolean;
  /** The account with --timeout / --connect-timeout / --retries applied. */
  apply(account: Account): Account;
}

export function transferSettings(o: TransferFlags): TransferSettings {
  const rate = o.bwlimit !== undefined ? rateOrThrow(o.bwlimit, '--bwlimit') : undefined;
  const timeout = o.timeout !== undefined ? seconds(o.timeout, '--timeout') : undefined;
  const connectTimeout =
    o.connectTimeout !== undefined ? seconds(o.connectTimeout, '--connect-timeout') : undefined;
  let retries: number | undefined;
  if (o.retries !== undefined) {
    if (!/^\d{1,2}$/.test(o.retries.trim()))
      throw new OtpBackupError('usage', `--retries "${o.retries}" is not a count`, {
        hint: 'give 0–99 (0 = one attempt, no reconnect)',
      });
    retries = Number(o.retries);
  }
  return {
    ...(rate ? { limiter: createLimiter(rate) } : {}),
    unlimited: rate === 0,
    apply(account) {
      const a = { ...account };
      if (timeout !== undefined) a.timeout = timeout;
      if (connectTimeout !== undefined) a.connectTimeout = connectTimeout;
      if (retries !== undefined) a.retries = retries;
      if (rate !== undefined) a.bwlimit = rate;
      return a;
    },
  };
}

/** The bucket for an account's transfers outside jobs (download, restore, upload): its own bwlimit. */
export function accountLimiter(s: TransferSettings, account: Account): BandwidthLimiter | undefined {
  if (s.limiter || s.unlimited) return s.limiter;
  return account.bwlimit ? createLimiter(account.bwlimit) : undefined;
}
