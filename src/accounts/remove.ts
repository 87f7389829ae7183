// Removing an account: the config entry first (refused while a job uses it), then the secrets
// otpbackup stored for it. References to the user's own entries (env:, file:, cmd:, foreign keychain
// services) are left alone and reported.
import { getAccount } from './lookup.js';
import { ownedByUs, refsOf } from './refs.js';
import { type AccountServices, loadAccountsConfig } from './services.js';

export interface RemoveResult {
  removed: string;
  deletedSecrets: string[];
  keptSecrets: string[];
}

export async function removeAccount(name: string, services: AccountServices): Promise<RemoveResult> {
  const config = await loadAccountsConfig(services);
  const a = getAccount(config, name);
  const { removeAccount: removeFromConfig } = await import('../config/save.js');
  await removeFromConfig(services.env, services.configPath, name);
  const secrets = services.secrets(config);
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const ref of Object.values(refsOf(a))) {
    if (ownedByUs(ref) && (await secrets.delete(ref))) deleted.push(ref);
    else kept.push(ref);
  }
  return { removed: name, deletedSecrets: deleted, keptSecrets: kept };
}
