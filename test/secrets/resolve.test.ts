// resolveSecret: dispatch by scheme, errors that name references but never values, redaction.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isOtpBackupError } from '../../src/errors.js';
import { redact } from '../../src/secrets/redact.js';
import { deleteSecret, parseRef, resolveSecret, storeSecret } from '../../src/secrets/resolve.js';
import type { SecretStore } from '../../src/secrets/types.js';
import { tempDir } from './helpers.js';

describe('resolveSecret', () => {
  it('dispatches env: and registers the value for redaction', async () => {
    const v = await resolveSecret('env:NAS_PW', { env: { NAS_PW: 'resolved-hunter2' } });
    assert.equal(v, 'resolved-hunter2');
    assert.equal(redact('login with resolved-hunter2 failed'), 'login with *** failed');
  });

  it('dispatches cmd: without a shell', async () => {
    assert.equal(await resolveSecret('cmd:printf %s from-cmd', { env: process.env }), 'from-cmd');
  });

  it('a missing secret names the reference and field, not a value', async () => {
    await assert.rejects(resolveSecret('env:NOPE', { env: {} }, 'accounts.nas.password'), (e) => {
      assert.ok(isOtpBackupError(e));
      assert.equal(e.code, 'secret');
      assert.equal(e.exitCode, 2);
      assert.match(
        e.message,
        /^accounts\.nas\.password: secret env:NOPE not found: environment variable NOPE/,
      );
      return true;
    });
  });

  it('an unknown scheme lists the schemes and does not echo the text', async () => {
    for (const ref of ['hunter2', 'pass:word-secret', 'plain text secret']) {
      await assert.rejects(resolveSecret(ref, { env: {} }), (e) => {
        assert.ok(isOtpBackupError(e));
        assert.equal(e.code, 'config');
        assert.match(e.hint ?? '', /env:, keychain:, vault:, file:, cmd:/);
        assert.doesNotMatch(`${e.message} ${e.hint}`, /hunter2|word-secret|plain text/);
        return true;
      });
    }
    assert.throws(() => parseRef('env:'), /nothing after the colon/);
  });

  it('uses injected stores, and stores/deletes only in writable ones', async () => {
    const data = new Map<string, string>();
    const fake: SecretStore = {
      scheme: 'keychain',
      get: async (k) => data.get(k),
      set: async (k, v) => void data.set(k, v),
      delete: async (k) => void data.delete(k),
    };
    const deps = { env: {}, stores: { keychain: fake } };
    await storeSecret('keychain:otpbackup/nas', 'stored-value', deps);
    assert.equal(data.get('otpbackup/nas'), 'stored-value');
    assert.equal(await resolveSecret('keychain:otpbackup/nas', deps), 'stored-value');
    assert.equal(await deleteSecret('keychain:otpbackup/nas', deps), true);
    assert.equal(data.size, 0);
    await assert.rejects(storeSecret('env:X', 'v', deps), /read-only/);
    assert.equal(await deleteSecret('env:X', deps), false);
  });

  it('vault: uses vault.path from the config and the passphrase from the environment', async () => {
    const dir = tempDir();
    const deps = {
      env: { HOME: dir, OTPBACKUP_PASSPHRASE: 'resolve-pass' },
      config: { vault: { path: join(dir, 'v.enc') } },
    };
    await storeSecret('vault:nas-seed', 'JBSWY3DPEHPK3PXP', deps);
    assert.equal(await resolveSecret('vault:nas-seed', { ...deps, stores: {} }), 'JBSWY3DPEHPK3PXP');
    await assert.rejects(
      resolveSecret('vault:other', deps),
      /secret vault:other not found: no such vault entry/,
    );
  });
});
