// What the account transactions need from the world, as one replaceable object: the config file,
// the secret stores, and the live test. The CLI builds the real one from its context
// (cli/commands/account/services.ts); unit tests build theirs with real stores and a fake probe.
import type { Account, Config } from '../config/types.js';
import type { SecretAccess } from '../secrets/access.js';
import type { ProbeResult } from './probe.js';

export interface AccountServices {
  env: NodeJS.ProcessEnv;
  /** The config file (--config); undefined: $OTPBACKUP_CONFIG or the default path. */
  configPath?: string;
  /** The secret stores, bound to `config` (its vault settings). */
  secrets(config: Config): SecretAccess;
  /**
   * Trusts the server (known, pinned by `pins`, or asked), logs in and writes and removes a probe
   * file, reading secrets through `getSecret`. May pin the server's identity into `account.trust`.
   */
  probe(account: Account, pins: string[], getSecret: (ref: string) => Promise<string>): Promise<ProbeResult>;
}

/** `test: false` (--no-test) saves without the live test. */
export interface TransactionOptions {
  test?: boolean;
}

/** The config the services point at. */
export async function loadAccountsConfig(s: AccountServices): Promise<Config> {
  const { loadConfig } = await import('../config/load.js');
  return loadConfig(s.env, s.configPath);
}
