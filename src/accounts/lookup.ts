// Finding an account by name, with the one error every command gives for a missing one.
import type { Account, Config } from '../config/types.js';
import { usageError } from '../errors.js';

export function getAccount(config: Config, name: string): Account {
  const a = config.accounts[name];
  if (!a) {
    throw usageError(
      `no account "${name}" in ${config.path}`,
      Object.keys(config.accounts).length
        ? `known accounts: ${Object.keys(config.accounts).join(', ')}`
        : 'add one with `otpbackup account add`',
    );
  }
  return a;
}
