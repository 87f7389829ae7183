// Runs inside `dbus-run-session` with a throwaway HOME (see keychain.test.ts): starts gnome-keyring
// unlocked with a throwaway password, runs the SecretStore suite against the real Secret Service,
// then locks the collection and expects "keychain locked" instead of "no secret".
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { isOtpBackupError } from '../../src/errors.js';
import { KeychainStore, secretServiceState, splitKeychainKey } from '../../src/secrets/keychain.js';
import { chooseDefaultStore } from '../../src/secrets/resolve.js';
import { writableStoreSuite } from './suite.js';

let daemon: ChildProcess | undefined;
const env = process.env;

before(async () => {
  daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  daemon.stdin!.end('throwaway-keyring-password');
  // Wait for OUR daemon to own the name; asking the service itself earlier would let D-Bus activate a
  // second, locked daemon.
  const deadline = Date.now() + 15_000;
  const owned = () =>
    /boolean true/.test(
      execFileSync('dbus-send', [
        '--session',
        '--print-reply',
        '--dest=org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus.NameHasOwner',
        'string:org.freedesktop.secrets',
      ]).toString(),
    );
  while (!owned() || (await secretServiceState(env)) !== 'unlocked') {
    if (Date.now() > deadline) throw new Error('gnome-keyring did not come up unlocked');
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(() => {
  if (daemon?.pid && daemon.exitCode === null) process.kill(daemon.pid, 'SIGTERM');
});

let n = 0;
const store = new KeychainStore(env);
writableStoreSuite('keychain', async () => ({
  store,
  seed: async (name, value) => {
    const key = `otpbackup-test/${name}-${n++}`;
    await store.set(key, value);
    return key;
  },
  missing: () => 'otpbackup-test/never-stored',
}));

describe('keychain specifics', () => {
  it('a bare key uses service "otpbackup"; SERVICE/ACCOUNT splits at the first slash', () => {
    assert.deepEqual(splitKeychainKey('nas-seed'), { service: 'otpbackup', account: 'nas-seed' });
    assert.deepEqual(splitKeychainKey('svc/acct/x'), { service: 'svc', account: 'acct/x' });
  });

  it('the value is visible to other Secret Service clients (secret-tool), so it is really stored there', async () => {
    await store.set('otpbackup-test/visible', 'visible-value');
    const out = execFileSync('secret-tool', ['search', 'service', 'otpbackup-test', 'username', 'visible'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.match(out, /visible-value/);
  });

  it('chooses the keychain as default store when the Secret Service answers', async () => {
    const c = await chooseDefaultStore(env);
    assert.equal(c.store, 'keychain');
    assert.match(c.reason, /Secret Service/);
  });
});

describe('locked keychain', () => {
  it('reports "keychain locked", not a missing secret', async () => {
    await store.set('otpbackup-test/before-lock', 'stored-before-lock');
    execFileSync('dbus-send', [
      '--session',
      '--print-reply',
      '--dest=org.freedesktop.secrets',
      '/org/freedesktop/secrets',
      'org.freedesktop.Secret.Service.Lock',
      'array:objpath:/org/freedesktop/secrets/aliases/default',
    ]);
    assert.equal(await secretServiceState(env), 'locked');
    for (const key of ['otpbackup-test/before-lock', 'otpbackup-test/never-stored']) {
      await assert.rejects(store.get(key), (e) => {
        assert.ok(isOtpBackupError(e));
        assert.equal(e.code, 'secret');
        assert.match(e.message, /keychain locked/);
        assert.match(e.hint ?? '', /unlock/);
        return true;
      });
    }
    await assert.rejects(store.set('otpbackup-test/while-locked', 'v'), /keychain locked/);
    const c = await chooseDefaultStore(env);
    assert.equal(c.store, 'keychain');
  });
});
