// Keychain store against a REAL Secret Service: gnome-keyring in a private D-Bus session with a
// throwaway HOME. Missing tools skip locally and FAIL when CI=true.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { it } from 'node:test';
import { KeychainStore, secretServiceState } from '../../src/secrets/keychain.js';
import { chooseDefaultStore } from '../../src/secrets/resolve.js';
import { requireTool } from '../support/require.js';
import { tempDir } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const skip = requireTool('dbus-run-session', 'gnome-keyring-daemon', 'dbus-send', 'secret-tool');

it('keychain store passes the suite against gnome-keyring, and a locked keyring is an error', {
  skip,
}, async () => {
  const home = tempDir('otpb-keyring-');
  const runtime = join(home, 'run');
  spawnSync('mkdir', ['-m', '700', '-p', runtime]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_RUNTIME_DIR: runtime,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    LANG: 'C.UTF-8',
  };
  const child = spawn(
    'dbus-run-session',
    ['--', process.execPath, '--import', 'tsx', '--test-reporter=tap', 'test/secrets/keychain-child.ts'],
    { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, `keychain child failed:\n${out}`);
  assert.match(out, /# fail 0/);
  const passed = Number(/# pass (\d+)/.exec(out)?.[1]);
  assert.ok(passed >= 11, `expected the whole suite to run, got ${passed} passes:\n${out}`);
});

it('without a session bus the keychain is not the default store, and reading says why', async () => {
  const env = { PATH: process.env.PATH, HOME: '/nonexistent' };
  assert.equal(await secretServiceState(env), 'absent');
  assert.equal((await chooseDefaultStore(env)).store, 'vault');
  await assert.rejects(new KeychainStore(env).get('x'), (e: Error) => {
    assert.match(e.message, /^no keychain: no Secret Service .* D-Bus session bus$/);
    return true;
  });
});
