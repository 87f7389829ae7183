// Regressions found by test/fuzz/otp.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { parseOtpauthUri, toOtpauthUri } from '../../src/otp/index.js';

const SEED = 'JBSWY3DPEHPK3PXP';

describe('otpauth URI regressions (fuzz)', () => {
  it('refuses a label with a lone surrogate instead of crashing when rendered (URIError)', () => {
    assert.throws(
      () => parseOtpauthUri(`otpauth://totp/a\ud800b?secret=${SEED}`),
      (e) =>
        e instanceof OtpBackupError && e.code === 'config' && /label is not valid Unicode/.test(e.message),
    );
    const info = parseOtpauthUri(`otpauth://totp/ok?secret=${SEED}`);
    assert.match(toOtpauthUri({ ...info, account: 'x\udc00' }), /x%EF%BF%BD/);
  });
  it('does not echo part of the seed when the type is mangled', () => {
    assert.throws(
      () => parseOtpauthUri(`otpauth://totpsecret=${SEED}`),
      (e) =>
        e instanceof OtpBackupError && !e.message.includes('JBSW') && /got something else/.test(e.message),
    );
  });
  it('refuses numbers too large to render as whole numbers again', () => {
    assert.throws(
      () => parseOtpauthUri(`otpauth://totp/x?secret=${SEED}&period=${'1'.repeat(30)}`),
      (e) => e instanceof OtpBackupError && /period: 30-digit number is too large/.test(e.message),
    );
  });
});
