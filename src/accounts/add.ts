// Adding an account, as a small transaction: check the stores can take the secrets, test the login
// (nothing stored yet: the test reads the typed values), store the secrets, save the config; when
// storing or saving fails, the secrets already stored are deleted again.
import { OtpBackupError, usageError } from '../errors.js';
import type { WritableStore } from '../secrets/resolve.js';
import { type AccountInput, checkName, type SecretWrite, toAccount } from './input.js';
import type { ProbeResult } from './probe.js';
import { refsOf } from './refs.js';
import { type AccountServices, loadAccountsConfig, type TransactionOptions } from './services.js';

export interface AddResult {
  added: string;
  config: string;
  store: WritableStore;
  /** Why that store (chosen with --store, or what the machine offers). */
  reason: string;
  references: Record<string, string>;
  tested: boolean;
  fingerprint?: string;
  /** The live test's result (not part of --json: the CLI prints what it needs from it). */
  probe?: ProbeResult;
}

export async function addAccount(
  input: AccountInput,
  services: AccountServices,
  opts: TransactionOptions = {},
): Promise<AddResult> {
  const name = input.name;
  if (name !== undefined) checkName(name);
  const config = await loadAccountsConfig(services);
  if (name !== undefined && config.accounts[name])
    throw usageError(`account "${name}" already exists`, 'remove it first, or pick another name');
  // Checked before the store is chosen: a bad flag is reported without asking D-Bus.
  toAccount({ ...input, store: input.store ?? 'keychain' });
  const secrets = services.secrets(config);
  let store = input.store;
  let reason = 'chosen with --store';
  if (store === undefined) ({ store, reason } = await secrets.defaultStore());
  const { account, writes } = toAccount({ ...input, store });

  // The store must take the secrets afterwards: checked before a login spends a one-time code.
  if (writes.length) await secrets.checkWritable(store);
  let probe: ProbeResult | undefined;
  if (opts.test !== false) {
    // Nothing is stored before the server has accepted a login and a probe file.
    probe = await services.probe(account, input.pins ?? [], (ref) => {
      const w = writes.find((x) => x.ref === ref);
      if (w?.value !== undefined) return Promise.resolve(w.value);
      return Promise.reject(new OtpBackupError('secret', `secret ${ref} is not available during the test`));
    });
  }
  const stored: SecretWrite[] = [];
  try {
    // The seed first, as before: its entry is the one `account show` names first.
    for (const w of [...writes].sort((x, y) => (x.role === 'otp' ? -1 : y.role === 'otp' ? 1 : 0))) {
      await secrets.store(w.ref, w.value!);
      stored.push(w);
    }
    // Validates the whole config; an invalid account writes nothing.
    const { saveAccount } = await import('../config/save.js');
    await saveAccount(services.env, services.configPath, account);
  } catch (e) {
    for (const w of stored) await secrets.delete(w.ref).catch(() => {});
    throw e;
  }
  return {
    added: account.name,
    config: config.path,
    store,
    reason,
    references: refsOf(account),
    tested: probe !== undefined,
    ...(probe?.fingerprint ? { fingerprint: probe.fingerprint } : {}),
    ...(probe ? { probe } : {}),
  };
}
