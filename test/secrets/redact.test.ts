// The output redactor (#14.10): it masks secrets that cannot be mistaken for words of a message,
// and never turns a message's own words into "***" (which would garble it and tell the secret).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { clearSecretsForTests, maskable, redact, registerSecret } from '../../src/secrets/redact.js';
import { cli, sandbox } from '../backup/e2e-helpers.js';

afterEach(() => clearSecretsForTests());

describe('redact', () => {
  it('never masks the words of a message, whatever passphrase was typed', () => {
    for (const word of ['wrong', 'passphrase', 'password', 'vault', 'failed', 'Connection'])
      registerSecret(word);
    const msg = 'wrong passphrase for vault /x/vault.enc; Connection failed, check the password';
    assert.equal(redact(msg), msg);
  });

  it('masks secrets of 6 characters or more that are not plain words, wherever they appear', () => {
    registerSecret('hunter2-x');
    registerSecret('123456'); // a one-time code
    registerSecret('JBSWY3DPEHPK3PXP'); // a base32 seed
    assert.equal(
      redact('USER alice123456 PASS hunter2-x seed=JBSWY3DPEHPK3PXP'),
      'USER alice*** PASS *** seed=***',
    );
  });

  it('the rule: fewer than 6 characters never; letters only from 16 characters', () => {
    assert.equal(maskable('a1b2c'), false);
    assert.equal(maskable('a1b2c3'), true);
    assert.equal(maskable('authentication'), false);
    assert.equal(maskable('Correcthorsebatt'), true);
    assert.equal(maskable('Crème brûlée'), true); // a space: not one word
  });

  it('CLI: a wrong vault passphrase "wrong" is reported as "wrong passphrase", not "*** passphrase"', async () => {
    const box = sandbox('otpbackup-redact-');
    const add = (name: string, env: NodeJS.ProcessEnv) =>
      cli(
        ['account', 'add', name, '--url', 'ftp://bob@127.0.0.1:2121/b', '--password-env', 'PW'].concat([
          '--totp-secret-env',
          'SEED',
          '--store',
          'vault',
          '--no-test',
        ]),
        { ...box.env, PW: 'Redact-pw-Secret-1', SEED: 'JBSWY3DPEHPK3PXP', ...env },
      );
    try {
      const ok = await add('nas', {});
      assert.equal(ok.status, 0, ok.stderr);
      const r = await add('nas2', { OTPBACKUP_PASSPHRASE: 'wrong' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /wrong passphrase for vault/);
      assert.doesNotMatch(r.stderr, /\*\*\*/);
    } finally {
      box.cleanup();
    }
  });
});
