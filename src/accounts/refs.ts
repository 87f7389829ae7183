// Secret-reference naming, in one place: which reference otpbackup writes for an account's secret,
// which references are otpbackup's own (and so may be moved or deleted with the account), and which
// references an account holds. Every other module asks here instead of spelling `keychain:otpbackup/…`.
import type { Account } from '../config/types.js';
import type { WritableStore } from '../secrets/resolve.js';

/** The secrets an account may hold, by the role that names their stored entry. */
export type SecretRole = 'password' | 'otp';

/** The reference otpbackup writes for `account`'s `role` secret in `store`. */
export function secretRef(store: WritableStore, account: string, role: SecretRole): string {
  return store === 'keychain' ? `keychain:otpbackup/${account}-${role}` : `vault:${account}/${role}`;
}

/** Keychain entries under our own service and vault entries are ours to delete; others are the user's. */
export function ownedByUs(ref: string): boolean {
  if (ref.startsWith('vault:')) return true;
  if (!ref.startsWith('keychain:')) return false;
  const key = ref.slice('keychain:'.length);
  return !key.includes('/') || key.startsWith('otpbackup/');
}

/** The store of a reference otpbackup owns; undefined for env:, file:, cmd: and foreign keychain entries. */
export function ownStoreOf(ref: string | undefined): WritableStore | undefined {
  if (!ref || !ownedByUs(ref)) return undefined;
  return ref.startsWith('vault:') ? 'vault' : 'keychain';
}

/** The account's secret references, by role (the keys `account show` and `--json` print). */
export function refsOf(a: Account): Record<string, string> {
  const refs: Record<string, string> = {};
  if (a.password) refs.password = a.password;
  if (a.otp.secret) refs.otpSecret = a.otp.secret;
  if (a.privateKeyPassphrase) refs.privateKeyPassphrase = a.privateKeyPassphrase;
  return refs;
}
