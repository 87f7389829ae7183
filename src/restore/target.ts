// Where `ls`, `restore`, `download` and `verify` read from: a job of the config (its remote root and
// its source paths), an account of the config (its remote directory), or a URL with secrets from the
// environment as `upload --to` takes them. One place, so every read command names things alike.

import { jobRemoteRoot } from '../backup/engine.js';
import type { Account, Config, Job } from '../config/types.js';
import { usageError } from '../errors.js';

export interface ReadTarget {
  account: Account;
  /** Remote directory the command works below. */
  root: string;
  job?: Job;
  config?: Config;
  /** How the user named it, for messages. */
  label: string;
}

export const URL_RE = /^(ftp|ftps|ftpes|ftps-implicit|sftp):\/\//i;

export function jobTarget(config: Config, name: string): ReadTarget {
  const job = config.jobs[name];
  if (!job) {
    const known = Object.keys(config.jobs);
    throw usageError(
      `no job named "${name}" in ${config.path}`,
      known.length ? `known jobs: ${known.join(', ')}` : 'add one with `otpbackup job add`',
    );
  }
  const account = config.accounts[job.account];
  if (!account) throw usageError(`job "${name}" names account "${job.account}", which is not in the config`);
  return {
    account,
    root: jobRemoteRoot(account.remoteDir, job.remoteDir),
    job,
    config,
    label: `job ${name}`,
  };
}

/** A job or, failing that, an account of the config. */
export function namedTarget(config: Config, name: string): ReadTarget {
  if (config.jobs[name]) return jobTarget(config, name);
  const account = config.accounts[name];
  if (account) return { account, root: account.remoteDir, config, label: `account ${name}` };
  const known = [...Object.keys(config.jobs), ...Object.keys(config.accounts)];
  throw usageError(
    `no job or account named "${name}" in ${config.path}`,
    known.length
      ? `known: ${known.join(', ')}`
      : 'add an account with `otpbackup account add`, or give a URL',
  );
}
