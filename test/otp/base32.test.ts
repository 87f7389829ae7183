import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { encodeBase32, parseSecret } from '../../src/otp/index.js';

const RFC = new TextEncoder().encode('12345678901234567890');
const RFC_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

function fails(text: string, message: RegExp): OtpBackupError {
  try {
    parseSecret(text);
  } catch (e) {
    assert.ok(e instanceof OtpBackupError, `not an OtpBackupError: ${e}`);
    assert.equal(e.code, 'config');
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/);
    return e;
  }
  assert.fail(`parseSecret(${JSON.stringify(text)}) did not throw`);
}

describe('Base32 seeds', () => {
  it('decodes the RFC seed and tolerates spaces, dashes, tabs, lower case and padding', () => {
    for (const form of [
      RFC_B32,
      RFC_B32.toLowerCase(),
      'gezd gnbv gy3t qojq gezd gnbv gy3t qojq',
      'GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ',
      `  ${RFC_B32}\n`,
      'GEZD\tGNBV GY3T\u00a0QOJQ GEZDGNBVGY3TQOJQ',
    ]) {
      assert.deepEqual(parseSecret(form), RFC, form);
    }
    // 10 bytes: 16 characters, no padding; 1 byte: "GE" with or without "======".
    assert.deepEqual(parseSecret('GE======'), new Uint8Array([0x31]));
    assert.deepEqual(parseSecret('GE'), new Uint8Array([0x31]));
    assert.deepEqual(parseSecret('ge=='), new Uint8Array([0x31]));
  });
  it('round-trips random bytes of every length through encodeBase32', () => {
    for (let n = 1; n <= 40; n++) {
      const bytes = new Uint8Array(randomBytes(n));
      const text = encodeBase32(bytes);
      assert.match(text, /^[A-Z2-7]+$/);
      assert.deepEqual(parseSecret(text), bytes, `length ${n}`);
    }
    assert.equal(encodeBase32(RFC), RFC_B32);
    assert.equal(encodeBase32(new Uint8Array([0x66, 0x6f, 0x6f, 0x62, 0x61])), 'MZXW6YTB'); // RFC 4648 "fooba"
    assert.equal(encodeBase32(new Uint8Array(0)), '');
  });
  it('names a bad character and its 1-based position', () => {
    fails('GEZD1NBV', /invalid Base32 character "1" at position 5/);
    fails('GEZD 0NBV', /"0" at position 6/);
    fails('GEZDGNB!', /"!" at position 8/);
    const e = fails('ABC8', /"8" at position 4/);
    assert.match(e.hint ?? '', /did you mean B/);
  });
  it('counts positions in characters, and shows invisible ones as U+XXXX', () => {
    fails('ÄBCDEFGH', /invalid Base32 character "Ä" at position 1/);
    fails('AB😀CDEFG', /"😀" at position 3/);
    fails('ABCD\u200bEFGH', /U\+200B at position 5/);
    fails('ＡBCDEFGH', /"Ａ" at position 1/); // full-width letter is not Base32
  });
  it('rejects empty input, misplaced padding and impossible lengths', () => {
    fails('', /secret: empty/);
    fails('  - -  ', /secret: empty/);
    fails('====', /secret: empty/);
    fails('GE==GE', /padding "=" at position 3 is followed/);
    fails('GEZDGNBVG', /9 characters cannot be decoded/);
    fails('G', /1 characters cannot be decoded/);
  });
  it('never puts the seed itself in an error', () => {
    const e = fails('SUPERSECRETSEEDX1', /position 17/);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /SUPERSECRET/);
  });
});

describe('hex seeds', () => {
  it('decodes hex: with any case, spaces and colons', () => {
    assert.deepEqual(parseSecret('hex:3132333435363738393031323334353637383930'), RFC);
    assert.deepEqual(parseSecret('HEX:31 32:33 aB'), new Uint8Array([0x31, 0x32, 0x33, 0xab]));
    assert.deepEqual(parseSecret('  hex:ff'), new Uint8Array([0xff]));
  });
  it('rejects bad digits with their position, odd lengths and empty bodies', () => {
    fails('hex:31g2', /invalid hexadecimal character "g" at position 7/);
    fails('  hex:3z', /"z" at position 8/);
    fails('hex:313', /odd number of digits \(3\)/);
    fails('hex:', /empty after "hex:"/);
  });
});
