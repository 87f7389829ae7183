// accountFromTarget and friends: how `otpbackup upload` flags become an ephemeral Account.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accountFromTarget, counterFileSource, parsePromptRule } from '../../src/backup/upload.js';
import { OtpBackupError } from '../../src/errors.js';
import type { CredentialSource } from '../../src/transport/index.js';

const SEED = 'JBSWY3DPEHPK3PXP';
const code = (e: unknown) => (e instanceof OtpBackupError ? e.code : 'not an OtpBackupError');

test('secrets become env: references; the default template follows the password', () => {
  const a = accountFromTarget({ to: 'sftp://ci@example.org:2222/site' }, { OTPBACKUP_TOTP_SECRET: SEED });
  assert.equal(a.protocol, 'sftp');
  assert.equal(a.port, 2222);
  assert.equal(a.remoteDir, '/site');
  assert.equal(a.otp.secret, 'env:OTPBACKUP_TOTP_SECRET');
  assert.equal(a.password, undefined);
  assert.equal(a.template, '${TOTP}');
  assert.ok(!JSON.stringify(a).includes(SEED), 'the seed itself is not in the account');

  const b = accountFromTarget(
    { to: 'ftp://ci@h/', passwordEnv: 'PW', totpSecretEnv: 'S', otpReuse: 'allow' },
    { PW: 'hunter2', S: SEED },
  );
  assert.equal(b.password, 'env:PW');
  assert.equal(b.otp.secret, 'env:S');
  assert.equal(b.template, '${PASSWORD}${TOTP}');
  assert.equal(b.otp.reuse, 'allow');
  assert.equal(b.remoteDir, '.', 'a URL without a path means the login directory');
  assert.ok(!JSON.stringify(b).includes('hunter2'));
});

test('an otpauth URI decides the kind and parameters; HOTP needs a counter file and uses ${OTP}', () => {
  const uri = `otpauth://totp/x?secret=${SEED}&digits=8&period=60&algorithm=SHA256`;
  const a = accountFromTarget({ to: 'ftp://u@h/' }, { OTPBACKUP_OTPAUTH_URI: uri });
  assert.deepEqual([a.otp.type, a.otp.digits, a.otp.period, a.otp.algorithm], ['totp', 8, 60, 'sha256']);
  const hotpUri = `otpauth://hotp/x?secret=${SEED}&counter=5`;
  assert.throws(
    () => accountFromTarget({ to: 'ftp://u@h/', otpauthUriEnv: 'U' }, { U: hotpUri }),
    /--hotp-counter-file/,
  );
  const h = accountFromTarget(
    { to: 'ftp://u@h/', otpauthUriEnv: 'U', hotpCounterFile: '/x' },
    { U: hotpUri },
  );
  assert.equal(h.otp.type, 'hotp');
  assert.equal(h.template, '${OTP}');
});

// A name the user gave may be a pasted value (#13.5): only otpbackup's own default names are printed.
test('missing secrets are exit 2, naming our default variable and never the argument', () => {
  for (const [opts, env, name] of [
    [{ totpSecretEnv: 'MINE' }, {}, '--totp-secret-env: no environment variable of that name'],
    [{}, {}, 'OTPBACKUP_TOTP_SECRET'],
    [
      { passwordEnv: 'PW' },
      { OTPBACKUP_TOTP_SECRET: SEED },
      '--password-env: no environment variable of that name',
    ],
  ] as const) {
    let err: unknown;
    try {
      accountFromTarget({ to: 'ftp://u@h/', ...opts }, env);
    } catch (e) {
      err = e;
    }
    assert.equal(code(err), 'secret');
    assert.ok((err as Error).message.includes(name), (err as Error).message);
    for (const given of [opts.totpSecretEnv, opts.passwordEnv])
      if (given) assert.ok(!(err as Error).message.includes(` ${given}`), 'the argument is not echoed');
    assert.equal((err as OtpBackupError).exitCode, 2);
  }
});

test('trust and prompt flags only where they apply', () => {
  const env = { OTPBACKUP_TOTP_SECRET: SEED };
  assert.throws(() => accountFromTarget({ to: 'sftp://u@h/', ca: '/ca.pem' }, env), /--ca only applies/);
  assert.throws(
    () => accountFromTarget({ to: 'ftpes://u@h/', hostKey: ['SHA256:x'] }, env),
    /--host-key only/,
  );
  assert.throws(() => accountFromTarget({ to: 'ftp://u@h/', otpReuse: 'maybe' }, env), /--otp-reuse/);
  const s = accountFromTarget(
    { to: 'sftp://u@h/', hostKey: ['SHA256:abc'], key: '/k', prompt: ['pass(word)?=${PASSWORD}'] },
    env,
  );
  assert.deepEqual(s.trust.hostKeys, ['SHA256:abc']);
  assert.deepEqual(s.authMethods, ['publickey', 'keyboard-interactive']);
  assert.deepEqual(s.prompts, [{ pattern: 'pass(word)?', answer: '${PASSWORD}' }]);
  const f = accountFromTarget({ to: 'ftpes://u@h/', ca: '/ca.pem', tlsFingerprint: ['SHA256:AA'] }, env);
  assert.equal(f.protocol, 'ftps');
  assert.equal(f.trust.ca, '/ca.pem');
});

test('parsePromptRule splits at the last "=" and checks both halves', () => {
  assert.deepEqual(parsePromptRule('a=b?=${TOTP}'), { pattern: 'a=b?', answer: '${TOTP}' });
  assert.throws(() => parsePromptRule('no-equals'), /REGEX=TEMPLATE/);
  assert.throws(() => parsePromptRule('(=${TOTP}'), /not a valid regular expression/);
  assert.throws(() => parsePromptRule('code=${NOPE}'));
});

test('counterFileSource: the file is advanced before the code is handed out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpbackup-counter-'));
  try {
    const file = join(dir, 'counter');
    writeFileSync(file, '7\n');
    const seen: number[] = [];
    const fake = (counter: number): CredentialSource => ({
      next: async () => {
        seen.push(counter);
        return { user: 'u', vars: {}, counter, code: '000000' };
      },
      failed: async () => {},
      succeeded: async () => {},
    });
    const src = counterFileSource(fake, file);
    const c = await src.next();
    assert.equal(c.counter, 7);
    assert.equal(readFileSync(file, 'utf8').trim(), '8');
    await src.next();
    assert.deepEqual(seen, [7, 8]);
    assert.equal(readFileSync(file, 'utf8').trim(), '9');
    writeFileSync(file, 'junk');
    await assert.rejects(src.next(), /does not hold a counter/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
