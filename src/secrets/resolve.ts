// Turns a reference ("vault:nas-seed") into its value by dispatching on the scheme, and registers the
// value for redaction. Stores are created lazily: resolving env: never touches D-Bus or the vault.

import type { Config, SecretRef } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { CmdStore } from './cmd.js';
import { EnvStore } from './env.js';
import { FileStore } from './file.js';
import { KeychainStore, noKeychainError, secretServiceState } from './keychain.js';
import { registerSecret } from './redact.js';
import { SECRET_SCHEMES, type SecretScheme } from './ref.js';
import type { SecretStore } from './types.js';
import { type PassphraseRequest, VaultStore, vaultPath } from './vault.js';

export interface SecretDeps {
  env: NodeJS.ProcessEnv;
  /** For vault.path and vault.passphraseCommand. */
  config?: Pick<Config, 'vault'>;
  /** Asks a person for the vault passphrase; only pass one on a TTY. */
  askPassphrase?: (req: PassphraseRequest) => Promise<string>;
  /** Replacements for tests, and a cache so one run builds each store once. */
  stores?: Partial<Record<SecretScheme, SecretStore>>;
}

export interface ParsedRef {
  scheme: SecretScheme;
  key: string;
}

export function parseRef(ref: SecretRef): ParsedRef {
  const i = ref.indexOf(':');
  const scheme = i > 0 ? ref.slice(0, i) : '';
  const key = i > 0 ? ref.slice(i + 1) : '';
  if (!(SECRET_SCHEMES as readonly string[]).includes(scheme) || key.trim() === '') {
    // Never echo the reference: a mistaken plain secret would end up in the message.
    throw new OtpBackupError(
      'config',
      scheme && (SECRET_SCHEMES as readonly string[]).includes(scheme)
        ? `secret reference "${scheme}:" has nothing after the colon`
        : `unknown secret reference scheme${scheme && /^[a-z]{1,12}$/.test(scheme) ? ` "${scheme}:"` : ''}`,
      { hint: `use one of ${SECRET_SCHEMES.map((s) => `${s}:`).join(', ')}` },
    );
  }
  return { scheme: scheme as SecretScheme, key };
}

/** The store for a scheme (cached in deps.stores). */
export function storeFor(scheme: SecretScheme, deps: SecretDeps): SecretStore {
  deps.stores ??= {};
  const cached = deps.stores[scheme];
  if (cached) return cached;
  let store: SecretStore;
  switch (scheme) {
    case 'env':
      store = new EnvStore(deps.env);
      break;
    case 'file':
      store = new FileStore(deps.env);
      break;
    case 'cmd':
      store = new CmdStore(deps.env);
      break;
    case 'keychain':
      store = new KeychainStore(deps.env);
      break;
    case 'vault': {
      const opts: ConstructorParameters<typeof VaultStore>[0] = {
        path: vaultPath(deps.env, deps.config),
        env: deps.env,
      };
      if (deps.config?.vault?.passphraseCommand) opts.passphraseCommand = deps.config.vault.passphraseCommand;
      if (deps.askPassphrase) opts.askPassphrase = deps.askPassphrase;
      store = new VaultStore(opts);
      break;
    }
  }
  deps.stores[scheme] = store;
  return store;
}

function where(p: ParsedRef): string {
  switch (p.scheme) {
    case 'env':
      return `environment variable ${p.key} is not set`;
    case 'file':
      return `file ${p.key} does not exist or is empty`;
    case 'cmd':
      return 'the command printed nothing';
    case 'keychain':
      return 'no such keychain entry';
    case 'vault':
      return 'no such vault entry';
  }
}

/**
 * The secret behind `ref`. A missing secret is an error naming the reference (never a value).
 * `field` (e.g. "accounts.nas.password") makes the message point at the config.
 */
export async function resolveSecret(ref: SecretRef, deps: SecretDeps, field?: string): Promise<string> {
  const parsed = parseRef(ref);
  const value = await storeFor(parsed.scheme, deps).get(parsed.key);
  if (value === undefined) {
    throw new OtpBackupError(
      'secret',
      `${field ? `${field}: ` : ''}secret ${ref} not found: ${where(parsed)}`,
      {
        hint:
          parsed.scheme === 'keychain' || parsed.scheme === 'vault'
            ? 'store it again with `otpbackup account add` (or edit the account)'
            : 'check the reference in the config',
      },
    );
  }
  registerSecret(value);
  return value;
}

/** Stores a value under `ref` in a writable store (keychain, vault). */
export async function storeSecret(ref: SecretRef, value: string, deps: SecretDeps): Promise<void> {
  const parsed = parseRef(ref);
  const store = storeFor(parsed.scheme, deps);
  if (!store.set) {
    throw new OtpBackupError(
      'usage',
      `${parsed.scheme}: references are read-only; otpbackup cannot store into them`,
      {
        hint: 'use --store keychain or --store vault',
      },
    );
  }
  registerSecret(value);
  await store.set(parsed.key, value);
}

/** Deletes the entry behind `ref` when its store is writable; read-only references are left alone. */
export async function deleteSecret(ref: SecretRef, deps: SecretDeps): Promise<boolean> {
  const parsed = parseRef(ref);
  const store = storeFor(parsed.scheme, deps);
  if (!store.delete) return false;
  await store.delete(parsed.key);
  return true;
}

export type WritableStore = 'keychain' | 'vault';

/** 'keychain' when a Secret Service (or macOS/Windows keychain) answers, else 'vault'; with why. */
export async function chooseDefaultStore(
  env: NodeJS.ProcessEnv,
): Promise<{ store: WritableStore; reason: string }> {
  if (process.platform === 'darwin' || process.platform === 'win32') {
    return {
      store: 'keychain',
      reason: `the ${process.platform === 'darwin' ? 'macOS' : 'Windows'} keychain`,
    };
  }
  const state = await secretServiceState(env);
  switch (state) {
    case 'unlocked':
      return { store: 'keychain', reason: 'a Secret Service answers on the session bus and is unlocked' };
    case 'locked':
      return { store: 'keychain', reason: 'a Secret Service answers on the session bus (currently locked)' };
    case 'absent':
      return { store: 'vault', reason: 'no Secret Service on the session bus (headless machine?)' };
    default:
      return { store: 'vault', reason: 'cannot ask D-Bus for a Secret Service (dbus-send missing)' };
  }
}

/**
 * Fails now, before a login spends a code, when secrets could not be stored in `store` afterwards:
 * the vault is opened (or its new passphrase taken), the Linux keychain must answer on D-Bus.
 */
export async function checkWritable(store: WritableStore, deps: SecretDeps): Promise<void> {
  if (store === 'vault') {
    await (storeFor('vault', deps) as VaultStore).unlock();
    return;
  }
  if (process.platform === 'linux' && (await secretServiceState(deps.env)) === 'absent')
    throw noKeychainError();
}
