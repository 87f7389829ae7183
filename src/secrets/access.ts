// The secret stores as one object bound to a config and a passphrase asker, so callers (the account
// transactions, the CLI's services) pass one thing around and tests can hand in their own. The store
// modules load on first use: building an access object costs nothing on `run`'s fast path.
import type { SecretDeps, WritableStore } from './resolve.js';

export interface SecretAccess {
  /** The value behind a reference; a missing one is an error naming the reference. */
  resolve(ref: string): Promise<string>;
  /** Stores into a writable store (keychain:, vault:); other schemes are refused. */
  store(ref: string, value: string): Promise<void>;
  /** Deletes the entry when its store is writable; false for read-only references. */
  delete(ref: string): Promise<boolean>;
  /** Fails now (before a login spends a code) when `store` could not take secrets afterwards. */
  checkWritable(store: WritableStore): Promise<void>;
  /** keychain when a Secret Service answers, else vault; with the reason, for the person. */
  defaultStore(): Promise<{ store: WritableStore; reason: string }>;
}

/** One access object; its stores are built once (one vault unlock, one passphrase question). */
export function secretAccess(deps: SecretDeps): SecretAccess {
  const mod = () => import('./resolve.js');
  return {
    resolve: async (ref) => (await mod()).resolveSecret(ref, deps),
    store: async (ref, value) => (await mod()).storeSecret(ref, value, deps),
    delete: async (ref) => (await mod()).deleteSecret(ref, deps),
    checkWritable: async (store) => (await mod()).checkWritable(store, deps),
    defaultStore: async () => (await mod()).chooseDefaultStore(deps.env),
  };
}
