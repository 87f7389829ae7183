// keychain:SERVICE/ACCOUNT (or keychain:KEY, service "otpbackup") — the OS keychain via @napi-rs/keyring:
// macOS Keychain, Windows Credential Manager, and on Linux the Secret Service (GNOME Keyring, KWallet),
// never the kernel keyring, which forgets everything at logout.
// A locked Secret Service collection must not read as "no secret": that would send a backup run down
// the "secret missing" path. The library rejects when it cannot unlock; we also ask D-Bus directly.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OtpBackupError } from '../errors.js';
import { childEnv } from './redact.js';
import type { SecretStore } from './types.js';

export const DEFAULT_SERVICE = 'otpbackup';

export function splitKeychainKey(key: string): { service: string; account: string } {
  const i = key.indexOf('/');
  if (i <= 0 || i === key.length - 1) return { service: DEFAULT_SERVICE, account: key };
  return { service: key.slice(0, i), account: key.slice(i + 1) };
}

export type SecretServiceState = 'unlocked' | 'locked' | 'absent' | 'unknown';

/** Asks the session bus whether a Secret Service answers and whether its default collection is locked. */
export function secretServiceState(env: NodeJS.ProcessEnv, timeoutMs = 3000): Promise<SecretServiceState> {
  if (process.platform !== 'linux') return Promise.resolve('unknown');
  // Without the variable, D-Bus still finds a systemd user bus at $XDG_RUNTIME_DIR/bus.
  const userBus = env.XDG_RUNTIME_DIR ? existsSync(join(env.XDG_RUNTIME_DIR, 'bus')) : false;
  if (!env.DBUS_SESSION_BUS_ADDRESS && !userBus) return Promise.resolve('absent');
  const args = [
    '--session',
    '--print-reply',
    `--reply-timeout=${timeoutMs}`,
    '--dest=org.freedesktop.secrets',
    '/org/freedesktop/secrets/aliases/default',
    'org.freedesktop.DBus.Properties.Get',
    'string:org.freedesktop.Secret.Collection',
    'string:Locked',
  ];
  return new Promise((resolve) => {
    execFile('dbus-send', args, { env: childEnv(env), timeout: timeoutMs + 1000 }, (err, stdout, stderr) => {
      if (!err) return resolve(/boolean true/.test(stdout) ? 'locked' : 'unlocked');
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return resolve('unknown'); // no dbus-send
      // Service present, but no default collection yet: it is created on first write.
      if (/Object does not exist|No such object|UnknownObject|UnknownMethod/.test(String(stderr))) {
        return resolve('unlocked');
      }
      resolve('absent');
    });
  });
}

function lockedError(): OtpBackupError {
  return new OtpBackupError('secret', 'keychain locked: the Secret Service collection is locked', {
    hint:
      'unlock the login keyring (log in to the desktop, or run: gnome-keyring-daemon --unlock), ' +
      'or keep this secret in the vault instead (--store vault)',
  });
}

/** No Secret Service on the session bus: one line and the fix, not the library's D-Bus text. */
export function noKeychainError(): OtpBackupError {
  return new OtpBackupError(
    'secret',
    'no keychain: no Secret Service (gnome-keyring, KWallet) answers on the D-Bus session bus',
    {
      hint:
        'use --store vault (passphrase from OTPBACKUP_PASSPHRASE or vault.passphraseCommand), or run ' +
        'otpbackup inside a desktop session, or start one: dbus-run-session -- gnome-keyring-daemon --unlock',
    },
  );
}

type EntryLike = {
  getPassword(): Promise<string | null>;
  setPassword(v: string): Promise<void>;
  deleteCredential(): Promise<boolean>;
};

export class KeychainStore implements SecretStore {
  readonly scheme = 'keychain';
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  private async entry(key: string): Promise<EntryLike> {
    const { service, account } = splitKeychainKey(key);
    let mod: typeof import('@napi-rs/keyring');
    try {
      mod = await import('@napi-rs/keyring');
    } catch {
      throw new OtpBackupError('secret', 'the keychain is not available on this platform', {
        hint: 'use the vault store instead (--store vault)',
      });
    }
    try {
      // Pin Linux to the Secret Service: the default silently falls back to the kernel keyring.
      return new mod.AsyncEntry(service, account, { linux: { store: 'secret-service' } });
    } catch (e) {
      return this.fail(e, 'access');
    }
  }

  private async fail(e: unknown, action: string): Promise<never> {
    const msg = e instanceof Error ? e.message : String(e);
    const state = await secretServiceState(this.env);
    if (/lock|prompt|dismiss/i.test(msg) || state === 'locked') throw lockedError();
    if (process.platform === 'linux' && (state === 'absent' || /dbus/i.test(msg))) throw noKeychainError();
    throw new OtpBackupError('secret', `keychain ${action} failed: ${msg.split('\n')[0]}`, {
      hint:
        process.platform === 'linux'
          ? 'is a Secret Service (gnome-keyring, KWallet) running in this session? Otherwise use --store vault'
          : 'check the system keychain, or use --store vault',
    });
  }

  async get(key: string): Promise<string | undefined> {
    const entry = await this.entry(key);
    let v: string | null;
    try {
      v = await entry.getPassword();
    } catch (e) {
      return this.fail(e, 'read');
    }
    if (v === null || v === '') {
      // Some Secret Service setups answer "nothing" for a locked collection: tell them apart.
      if ((await secretServiceState(this.env)) === 'locked') throw lockedError();
      return undefined;
    }
    return v;
  }

  async set(key: string, value: string): Promise<void> {
    const entry = await this.entry(key);
    try {
      await entry.setPassword(value);
    } catch (e) {
      await this.fail(e, 'write');
    }
  }

  async delete(key: string): Promise<void> {
    const entry = await this.entry(key);
    try {
      await entry.deleteCredential();
    } catch (e) {
      await this.fail(e, 'delete');
    }
  }
}
