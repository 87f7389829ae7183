import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { otpbackup } from './helpers.js';

describe('otpbackup template', () => {
  it('preview masks every value and explains positions', () => {
    const r = otpbackup(['template', 'preview', '${PASSWORD};${TOTP}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '••••••••;••••••');
    assert.match(r.stdout, /1-8\s+\$\{PASSWORD\}\s+8 characters, masked/);
    assert.match(r.stdout, /9\s+";"\s+literal text/);
    assert.match(r.stdout, /10-15\s+\$\{TOTP\}\s+6 digits, masked/);
  });
  it('preview takes lengths, $<NAME> and $$', () => {
    const r = otpbackup([
      'template',
      'preview',
      '$$$<PASSWORD>${OTP}',
      '--password-length',
      '3',
      '--digits',
      '8',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], '$•••••••••••');
  });
  it('preview warns (stderr, exit 0) when there is no code variable', () => {
    const r = otpbackup(['template', 'preview', '${PASSWORD}']);
    assert.equal(r.status, 0);
    assert.equal(r.stdout.split('\n')[0], '••••••••');
    assert.match(r.stderr, /^warning: the template has no code variable/);
  });
  it('preview fails with exit 2 naming an unknown variable, listing the known ones', () => {
    const r = otpbackup(['template', 'preview', '${PASSWORD}${CODE}']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr.split('\n')[0] ?? '',
      /^otpbackup: template: unknown variable "CODE" at position 12 \(known variables: PASSWORD, TOTP, OTP, HOTP, USER\)$/,
    );
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const u = otpbackup(['template', 'preview', '${TOTP']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /not closed with "\}"/);
  });
  it('presets lists the three seed templates; --help shows examples', () => {
    const r = otpbackup(['template', 'presets']);
    assert.equal(r.status, 0);
    for (const t of ['${PASSWORD}${OTP}', '${PASSWORD};${TOTP}', '${TOTP}'])
      assert.ok(r.stdout.includes(t), t);
    const h = otpbackup(['template', 'preview', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /Examples:/);
  });
});
