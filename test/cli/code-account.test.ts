// `otpbackup code ACCOUNT`: the seed comes from the account's secret reference; HOTP does not advance
// unless --use.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { otpbackup } from './helpers.js';

const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DP';
const dir = mkdtempSync(join(tmpdir(), 'otpb-code-acct-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  `accounts:
  t:
    protocol: ftp
    host: 127.0.0.1
    user: u
    otp: { secret: "env:SEED" }
  h:
    protocol: ftp
    host: 127.0.0.1
    user: u
    otp: { type: hotp, secret: "env:SEED", counter: 3 }
`,
);
const env = { HOME: dir, XDG_STATE_HOME: join(dir, 'state'), OTPBACKUP_CONFIG: config, SEED };

test('TOTP account: same code as the seed given directly', () => {
  const a = otpbackup(['code', 't', '--at', '1700000000'], { env });
  const b = otpbackup(['code', '--secret-env', 'SEED', '--at', '1700000000'], { env });
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stdout, /^\d{6}\n$/);
  assert.equal(a.stdout, b.stdout);
  assert.ok(!`${a.stdout}${a.stderr}`.includes(SEED));
});

test('HOTP account: peeking does not advance; --use does', () => {
  const want = otpbackup(['code', '--secret-env', 'SEED', '--counter', '3'], { env }).stdout;
  const next = otpbackup(['code', '--secret-env', 'SEED', '--counter', '4'], { env }).stdout;
  assert.equal(otpbackup(['code', 'h'], { env }).stdout, want);
  assert.equal(otpbackup(['code', 'h'], { env }).stdout, want, 'still counter 3');
  const used = otpbackup(['code', 'h', '--use'], { env });
  assert.equal(used.status, 0, used.stderr);
  assert.equal(used.stdout, want);
  assert.equal(otpbackup(['code', 'h'], { env }).stdout, next, 'now counter 4');
});

test('unknown account: exit 2', () => {
  const r = otpbackup(['code', 'nope'], { env });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no account "nope"/);
});
