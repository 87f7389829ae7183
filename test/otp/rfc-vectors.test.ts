// RFC 4226 Appendix D (HOTP) and RFC 6238 Appendix B (TOTP, all three algorithms, 8 digits).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Algorithm } from '../../src/config/types.js';
import { hotp, stepStartMs, totpAt, totpForStep, totpStep } from '../../src/otp/index.js';

interface Vectors {
  hotp: { secretAscii: string; algorithm: Algorithm; digits: number; codes: string[] };
  totp: {
    digits: number;
    period: number;
    t0: number;
    secretsAscii: Record<Algorithm, string>;
    vectors: ({ time: number; step: string } & Record<Algorithm, string>)[];
  };
}
const v = JSON.parse(
  readFileSync(new URL('../../fixtures/rfc-vectors.json', import.meta.url), 'utf8'),
) as Vectors;
const ascii = (s: string) => new TextEncoder().encode(s);

describe('RFC 4226 HOTP', () => {
  it('matches Appendix D for counters 0-9', () => {
    const secret = ascii(v.hotp.secretAscii);
    const got = v.hotp.codes.map((_, i) => hotp(secret, i, { algorithm: 'sha1', digits: 6 }));
    assert.deepEqual(got, v.hotp.codes);
  });
  it('rejects a negative, fractional or unsafe counter and an empty secret', () => {
    const secret = ascii(v.hotp.secretAscii);
    for (const c of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      assert.throws(() => hotp(secret, c, { algorithm: 'sha1', digits: 6 }), /counter/);
    }
    assert.throws(() => hotp(new Uint8Array(0), 0, { algorithm: 'sha1', digits: 6 }), /secret: empty/);
  });
  it('rejects unsupported digits and algorithms, naming the field', () => {
    const secret = ascii(v.hotp.secretAscii);
    assert.throws(() => hotp(secret, 0, { algorithm: 'sha1', digits: 5 }), {
      code: 'config',
      message: /^digits:/,
    });
    assert.throws(() => hotp(secret, 0, { algorithm: 'md5' as Algorithm, digits: 6 }), {
      code: 'config',
      message: /^algorithm:/,
    });
  });
});

describe('RFC 6238 TOTP', () => {
  for (const alg of ['sha1', 'sha256', 'sha512'] as const) {
    it(`matches Appendix B for ${alg}`, () => {
      const secret = ascii(v.totp.secretsAscii[alg]);
      for (const row of v.totp.vectors) {
        const r = totpAt(secret, row.time * 1000, { algorithm: alg, digits: 8, period: 30, t0: 0 });
        assert.equal(r.code, row[alg], `time ${row.time}`);
        assert.equal(r.step, Number.parseInt(row.step, 16), `step at ${row.time}`);
        assert.equal(totpForStep(secret, r.step, { algorithm: alg, digits: 8 }), row[alg]);
      }
    });
  }
  it('computes steps, step starts and remaining time, with t0 and odd periods', () => {
    assert.equal(totpStep(59_000, 30), 1);
    assert.equal(totpStep(59_999, 30), 1);
    assert.equal(totpStep(60_000, 30), 2);
    assert.equal(totpStep(100_000, 45, 10), 2); // (100 - 10) / 45
    assert.equal(totpStep(1_500, 0.5), 3);
    assert.equal(stepStartMs(2, 45, 10), 100_000);
    const secret = ascii(v.totp.secretsAscii.sha1);
    const r = totpAt(secret, 59_250, { algorithm: 'sha1', digits: 6, period: 30, t0: 0 });
    assert.equal(r.remainingMs, 750);
    assert.equal(r.code, '287082'); // HOTP counter 1, 6 digits
    // Shifting t0 by one period shifts the step by one.
    assert.equal(
      totpAt(secret, 89_000, { algorithm: 'sha1', digits: 8, period: 30, t0: 30 }).code,
      '94287082',
    );
  });
  it('rejects bad periods and times before t0', () => {
    const secret = ascii(v.totp.secretsAscii.sha1);
    for (const period of [0, -30, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => totpAt(secret, 0, { algorithm: 'sha1', digits: 6, period, t0: 0 }),
        /^OtpBackupError: period:|period:/,
      );
    }
    assert.throws(
      () => totpAt(secret, 1000, { algorithm: 'sha1', digits: 6, period: 30, t0: 100 }),
      /before the TOTP start/,
    );
  });
});
