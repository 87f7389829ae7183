// The vault: conformance, round trip, wrong passphrase, tampering, and concurrent writers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isOtpBackupError } from '../../src/errors.js';
import { VaultStore, vaultPath } from '../../src/secrets/vault.js';
import { tempDir } from './helpers.js';
import { writableStoreSuite } from './suite.js';

const dir = tempDir('otpb-vault-');
const PASS = 'correct horse battery staple';
const FAST = { N: 2 ** 12, r: 8, p: 1 };
let n = 0;

/** `null`: no passphrase in the environment. */
function vault(
  path: string,
  passphrase: string | null = PASS,
  extra: Partial<ConstructorParameters<typeof VaultStore>[0]> = {},
) {
  const env: NodeJS.ProcessEnv = passphrase === null ? {} : { OTPBACKUP_PASSPHRASE: passphrase };
  return new VaultStore({ path, env, kdf: FAST, ...extra });
}

writableStoreSuite('vault', async () => {
  const store = vault(join(dir, `suite-${n++}.enc`));
  return {
    store,
    seed: async (name, value) => {
      await store.set(name, value);
      return name;
    },
    missing: () => 'never-stored',
  };
});

describe('vault', () => {
  it('round trip through a new process-like instance, with the default scrypt cost, file 0600', async () => {
    const path = join(dir, 'sub', 'roundtrip.enc');
    const a = new VaultStore({ path, env: { OTPBACKUP_PASSPHRASE: PASS } });
    await a.set('nas-seed', 'JBSWY3DPEHPK3PXP');
    await a.set('nas-password', 'hunter2-pw');
    const b = new VaultStore({ path, env: { OTPBACKUP_PASSPHRASE: PASS } });
    assert.equal(await b.get('nas-seed'), 'JBSWY3DPEHPK3PXP');
    assert.equal(await b.get('nas-password'), 'hunter2-pw');
    assert.deepEqual(await b.list(), ['nas-password', 'nas-seed']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = readFileSync(path, 'utf8');
    for (const s of ['JBSWY3DPEHPK3PXP', 'hunter2-pw', PASS, 'nas-seed']) assert.ok(!text.includes(s), s);
    const f = JSON.parse(text);
    assert.equal(f.kdf.N, 2 ** 15);
  });

  it('uses a fresh nonce for every write', async () => {
    const path = join(dir, 'nonce.enc');
    const v = vault(path);
    await v.set('a', 'value-1');
    const n1 = JSON.parse(readFileSync(path, 'utf8')).nonce;
    await v.set('a', 'value-1');
    const n2 = JSON.parse(readFileSync(path, 'utf8')).nonce;
    assert.notEqual(n1, n2);
  });

  it('a wrong passphrase is a clear error and changes nothing', async () => {
    const path = join(dir, 'wrong.enc');
    await vault(path).set('k', 'secret-value');
    const before = readFileSync(path);
    const bad = vault(path, 'not the passphrase');
    await assert.rejects(bad.get('k'), (e) => {
      assert.ok(isOtpBackupError(e));
      assert.equal(e.code, 'secret');
      assert.match(e.message, /wrong passphrase for vault/);
      assert.doesNotMatch(e.message, /not the passphrase/);
      return true;
    });
    await assert.rejects(bad.set('k2', 'v'), /wrong passphrase/);
    await assert.rejects(bad.delete('k'), /wrong passphrase/);
    assert.deepEqual(readFileSync(path), before);
    assert.equal(await vault(path).get('k'), 'secret-value');
  });

  it('a tampered ciphertext, tag or header is detected and nothing is changed', async () => {
    const path = join(dir, 'tamper.enc');
    await vault(path).set('k', 'secret-value');
    const good = readFileSync(path, 'utf8');
    const f = JSON.parse(good);
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64');
      b[0] = b[0]! ^ 1;
      return b.toString('base64');
    };
    const variants = [
      { ...f, data: flip(f.data) },
      { ...f, tag: flip(f.tag) },
      { ...f, nonce: flip(f.nonce) },
      { ...f, cipher: 'aes-256-gcm ' },
    ];
    for (const v of variants) {
      const text = JSON.stringify(v);
      writeFileSync(path, text, { mode: 0o600 });
      await assert.rejects(vault(path).get('k'), /damaged or was tampered with/);
      await assert.rejects(vault(path).set('k2', 'v'), /damaged or was tampered with/);
      assert.equal(readFileSync(path, 'utf8'), text);
    }
    writeFileSync(path, 'not json', { mode: 0o600 });
    await assert.rejects(vault(path).get('k'), /damaged/);
  });

  it('needs no passphrase to read an absent vault, and asks for one to create it', async () => {
    const path = join(dir, 'absent.enc');
    assert.equal(await vault(path, null).get('k'), undefined);
    await assert.rejects(vault(path, null).set('k', 'v'), /needs a passphrase/);
    const asked: boolean[] = [];
    const v = vault(path, null, {
      askPassphrase: async (req) => {
        asked.push(req.creating);
        return 'prompted passphrase';
      },
    });
    await v.set('k', 'value-k');
    assert.deepEqual(asked, [true]);
    assert.equal(await vault(path, 'prompted passphrase').get('k'), 'value-k');
  });

  it('takes the passphrase from vault.passphraseCommand', async () => {
    const path = join(dir, 'cmd.enc');
    await vault(path).set('k', 'value-k');
    const v = vault(path, null, { passphraseCommand: ['printf', '%s\\n', PASS] });
    assert.equal(await v.get('k'), 'value-k');
  });

  it('vault path defaults to the config dir and follows vault.path with ~', () => {
    assert.equal(vaultPath({ HOME: '/h' }), '/h/.config/otpbackup/vault.enc');
    assert.equal(vaultPath({ HOME: '/h', XDG_CONFIG_HOME: '/x' }), '/x/otpbackup/vault.enc');
    assert.equal(vaultPath({ HOME: '/h' }, { vault: { path: '~/v.enc' } }), '/h/v.enc');
  });

  it('concurrent writers in separate processes lose no entries', async () => {
    const path = join(dir, 'concurrent.enc');
    const writers = ['w0', 'w1', 'w2'];
    const root = new URL('../..', import.meta.url).pathname;
    const codes = await Promise.all(
      writers.map(
        (w) =>
          new Promise<number | null>((resolve, reject) => {
            const child = spawn(
              process.execPath,
              ['--import', 'tsx', 'test/secrets/vault-writer.ts', path, w, '4'],
              {
                cwd: root,
                env: { ...process.env, OTPBACKUP_PASSPHRASE: PASS },
                stdio: ['ignore', 'ignore', 'inherit'],
              },
            );
            child.on('error', reject);
            child.on('close', resolve);
          }),
      ),
    );
    assert.deepEqual(codes, [0, 0, 0]);
    const v = vault(path);
    const names = await v.list();
    assert.equal(names.length, 12);
    for (const w of writers)
      for (let i = 0; i < 4; i++) assert.equal(await v.get(`${w}-${i}`), `value-${w}-${i}`);
  });

  it('refuses entry names that could clash with object internals', async () => {
    await assert.rejects(vault(join(dir, 'names.enc')).set('__proto__', 'v'), /not allowed/);
  });
});
