// toAccount: the account an AccountInput describes, new or as a change of an existing one, and the
// secret writes that go with it (refs.ts naming). Pure: no server, no store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AccountInput, toAccount } from '../../src/accounts/input.js';
import { ownedByUs, ownStoreOf, refsOf, secretRef } from '../../src/accounts/refs.js';
import type { Account } from '../../src/config/types.js';
import { isOtpBackupError } from '../../src/errors.js';
import { parseSecret } from '../../src/otp/index.js';

const SEED = 'JBSWY3DPEHPK3PXP';
const seed = () => ({ secret: parseSecret(SEED) });
const sftp = { protocol: 'sftp' as const, host: 'nas.example', port: 22, user: 'me' };
const PIN = `SHA256:${'A'.repeat(43)}`;

function usage(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e) => isOtpBackupError(e) && e.code === 'usage' && re.test(e.message));
}

/** An account as `add` made it: seed and password in the vault, a pinned host key. */
function existing(): Account {
  return toAccount({
    name: 'nas',
    server: sftp,
    remoteDir: 'backup',
    password: 'pw-1',
    otp: { seed: seed() },
    pins: [PIN],
    store: 'vault',
  }).account;
}

describe('secret references', () => {
  it('are named in one place and only otpbackup’s own count as ours', () => {
    assert.equal(secretRef('vault', 'nas', 'otp'), 'vault:nas/otp');
    assert.equal(secretRef('keychain', 'nas', 'password'), 'keychain:otpbackup/nas-password');
    assert.ok(ownedByUs('keychain:otpbackup/nas-otp') && ownedByUs('keychain:plain'));
    assert.ok(!ownedByUs('keychain:other-app/key') && !ownedByUs('env:PW') && !ownedByUs('file:/x'));
    assert.equal(ownStoreOf('vault:nas/otp'), 'vault');
    assert.equal(ownStoreOf('env:PW'), undefined);
  });
});

describe('toAccount for add', () => {
  it('builds the account with references, default template and pins by protocol', () => {
    const d = toAccount({
      name: 'nas',
      server: sftp,
      remoteDir: '.',
      password: 'pw',
      otp: { seed: seed() },
      pins: [PIN],
      store: 'keychain',
    });
    assert.equal(d.account.template, '${PASSWORD}${TOTP}');
    assert.deepEqual(refsOf(d.account), {
      password: 'keychain:otpbackup/nas-password',
      otpSecret: 'keychain:otpbackup/nas-otp',
    });
    assert.deepEqual(d.account.trust, { hostKeys: [PIN] });
    assert.deepEqual(
      d.writes.map((w) => [w.role, w.ref, w.value, w.overwrites]),
      [
        ['password', 'keychain:otpbackup/nas-password', 'pw', false],
        ['otp', 'keychain:otpbackup/nas-otp', SEED, false],
      ],
    );
    const ftps = toAccount({
      name: 'f',
      server: { ...sftp, protocol: 'ftps', port: 21 },
      remoteDir: '.',
      otp: { seed: seed() },
      pins: ['AB:CD'],
      store: 'vault',
    });
    assert.deepEqual(ftps.account.trust, { tlsFingerprints: ['AB:CD'] });
    assert.equal(ftps.account.template, '${TOTP}');
  });

  it('takes the URI’s settings, the flags over them, and starts HOTP at the URI’s counter', () => {
    const uri = { type: 'hotp' as const, algorithm: 'sha256' as const, digits: 8, period: 30, counter: 7 };
    const d = toAccount({
      name: 'h',
      server: sftp,
      remoteDir: '.',
      otp: { seed: { ...seed(), uri }, digits: 6 },
      store: 'vault',
    });
    assert.deepEqual(
      [d.account.otp.type, d.account.otp.algorithm, d.account.otp.digits, d.account.otp.counter],
      ['hotp', 'sha256', 6, 7],
    );
    const plain = toAccount({
      name: 'h',
      server: sftp,
      remoteDir: '.',
      otp: { seed: seed(), hotp: true },
      store: 'vault',
    });
    assert.deepEqual([plain.account.otp.type, plain.account.otp.counter], ['hotp', 0]);
  });

  it('otp.type prompt stores no seed; a missing seed or a seed with prompt is refused', () => {
    const d = toAccount({ name: 'p', server: sftp, remoteDir: '.', otp: { type: 'prompt' }, store: 'vault' });
    assert.equal(d.account.otp.secret, undefined);
    assert.deepEqual(d.writes, []);
    const base: AccountInput = { name: 'x', server: sftp, remoteDir: '.', otp: {}, store: 'vault' };
    usage(() => toAccount(base), /seed is missing/);
    usage(() => toAccount({ ...base, otp: { type: 'prompt', seed: seed() } }), /takes no seed/);
    usage(() => toAccount({ ...base, name: 'bad name', otp: { seed: seed() } }), /account name "bad name"/);
    usage(() => toAccount({ ...base, remoteDir: 'a\nb', otp: { seed: seed() } }), /--remote-dir/);
    usage(
      () =>
        toAccount({
          ...base,
          server: { ...sftp, protocol: 'ftp' },
          otp: { seed: seed() },
          prompts: [{ pattern: 'x', answer: '${TOTP}' }],
        }),
      /--prompt is for sftp/,
    );
    usage(() => toAccount({ ...base, otp: { seed: seed() }, pins: ['nope'] }), /--trust-host-key/);
    usage(() => toAccount({ ...base, otp: { seed: seed() }, template: '${PASSWORD}' }), /no one-time code/);
  });
});

describe('toAccount for edit', () => {
  it('a rename moves otpbackup’s own entries to the new name; the user’s references stay', () => {
    const old = { ...existing(), password: 'env:NAS_PW' };
    const d = toAccount({ name: 'nas2', otp: {} }, old);
    assert.equal(d.account.name, 'nas2');
    assert.equal(d.account.password, 'env:NAS_PW');
    assert.deepEqual(d.writes, [
      { role: 'otp', ref: 'vault:nas2/otp', from: 'vault:nas/otp', overwrites: false },
    ]);
  });

  it('a new value for an owned entry overwrites it in place; --store moves it', () => {
    const d = toAccount({ password: 'pw-2', otp: {} }, existing());
    assert.deepEqual(d.writes, [
      { role: 'password', ref: 'vault:nas/password', value: 'pw-2', overwrites: true },
    ]);
    const moved = toAccount({ store: 'keychain', otp: {} }, existing());
    assert.deepEqual(
      moved.writes.map((w) => [w.ref, w.from]),
      [
        ['keychain:otpbackup/nas-password', 'vault:nas/password'],
        ['keychain:otpbackup/nas-otp', 'vault:nas/otp'],
      ],
    );
  });

  it('a new server drops the pins (with a note); a URL without path keeps the directory', () => {
    const d = toAccount({ server: { ...sftp, host: 'nas2.example' }, otp: {} }, existing());
    assert.deepEqual(d.account.trust, {});
    assert.match(d.notes.join(), /pinned fingerprints were dropped/);
    assert.equal(d.account.remoteDir, 'backup');
    const same = toAccount({ server: { ...sftp, user: 'other' }, otp: {} }, existing());
    assert.deepEqual(same.account.trust, { hostKeys: [PIN] });
  });

  it('otp.type prompt drops the seed; hotp starts at counter 0; no seed to switch back to is refused', () => {
    const p = toAccount({ otp: { type: 'prompt' } }, existing());
    assert.equal(p.account.otp.secret, undefined);
    assert.deepEqual(refsOf(p.account), { password: 'vault:nas/password' });
    const h = toAccount({ otp: { type: 'hotp' } }, existing());
    assert.deepEqual([h.account.otp.type, h.account.otp.counter], ['hotp', 0]);
    usage(() => toAccount({ otp: { type: 'totp' } }, p.account), /has no seed/);
  });

  it('a new secret with no store known asks for the default store', () => {
    const old = { ...existing(), password: 'env:PW', otp: { ...existing().otp, secret: 'file:/seed' } };
    assert.equal(toAccount({ password: 'new', otp: {} }, old).needsDefaultStore, true);
    const d = toAccount({ password: 'new', otp: {} }, old, 'vault');
    assert.deepEqual([d.needsDefaultStore, d.account.password], [false, 'vault:nas/password']);
    assert.equal(toAccount({ remoteDir: 'x', otp: {} }, old).needsDefaultStore, false);
  });
});
