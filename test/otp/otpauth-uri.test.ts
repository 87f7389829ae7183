import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { encodeBase32, type OtpauthInfo, parseOtpauthUri, toOtpauthUri } from '../../src/otp/index.js';

const SEED = 'JBSWY3DPEHPK3PXP';
// JBSWY3DPEHPK3PXP is "Hello!" followed by DE AD BE EF.
const SEED_BYTES = new Uint8Array(Buffer.from('48656c6c6f21deadbeef', 'hex'));

function fails(uri: string, message: RegExp): void {
  try {
    parseOtpauthUri(uri);
  } catch (e) {
    assert.ok(e instanceof OtpBackupError);
    assert.equal(e.code, 'config');
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/);
    // The seed must not leak into messages, even when the URI is broken elsewhere.
    assert.doesNotMatch(`${e.message} ${e.hint}`, new RegExp(SEED));
    return;
  }
  assert.fail(`${uri} parsed`);
}

describe('otpauth URI parsing', () => {
  it('parses the Key Uri Format example with defaults', () => {
    const i = parseOtpauthUri(`otpauth://totp/Example:alice@google.com?secret=${SEED}&issuer=Example`);
    assert.deepEqual(i, {
      type: 'totp',
      secret: SEED_BYTES,
      algorithm: 'sha1',
      digits: 6,
      period: 30,
      label: 'Example:alice@google.com',
      account: 'alice@google.com',
      issuer: 'Example',
    });
  });
  it('parses every field, case-insensitively, with encoded labels', () => {
    const i = parseOtpauthUri(
      `OTPAUTH://TOTP/ACME%20Co%3A%20john.doe%40email.com?SECRET=${SEED.toLowerCase()}&Algorithm=SHA-256&digits=8&period=60&image=x`,
    );
    assert.equal(i.type, 'totp');
    assert.equal(i.algorithm, 'sha256');
    assert.equal(i.digits, 8);
    assert.equal(i.period, 60);
    assert.equal(i.issuer, 'ACME Co');
    assert.equal(i.account, 'john.doe@email.com');
    assert.deepEqual(i.secret, SEED_BYTES);
  });
  it('parses hotp with its counter; the issuer parameter wins over the label prefix', () => {
    const i = parseOtpauthUri(
      `otpauth://hotp/Old:bob?secret=${SEED}&counter=42&issuer=New+Name&algorithm=sha512&digits=7`,
    );
    assert.equal(i.type, 'hotp');
    assert.equal(i.counter, 42);
    assert.equal(i.algorithm, 'sha512');
    assert.equal(i.digits, 7);
    assert.equal(i.issuer, 'New Name');
    assert.equal(i.account, 'bob');
  });
  it('accepts an empty label and an account without issuer', () => {
    assert.equal(parseOtpauthUri(`otpauth://totp/?secret=${SEED}`).label, undefined);
    const i = parseOtpauthUri(`otpauth://totp/alice?secret=${SEED}`);
    assert.equal(i.account, 'alice');
    assert.equal(i.issuer, undefined);
  });
  it('gives one-line errors naming the field', () => {
    fails('https://example.com/', /scheme must be "otpauth"/);
    fails('not a uri', /not a URI/);
    fails(`otpauth://motp/x?secret=${SEED}`, /type must be totp or hotp \(got "motp"\)/);
    fails('otpauth://totp/x?issuer=a', /secret is missing/);
    fails('otpauth://totp/x?secret=', /secret is missing/);
    fails(
      `otpauth://totp/x?secret=${SEED}1`,
      /otpauth URI: secret: invalid Base32 character "1" at position 17/,
    );
    fails(
      `otpauth://totp/x?secret=${SEED}&algorithm=MD5`,
      /otpauth URI: algorithm: must be sha1, sha256 or sha512/,
    );
    fails(`otpauth://totp/x?secret=${SEED}&digits=10`, /otpauth URI: digits: must be 6, 7 or 8/);
    fails(`otpauth://totp/x?secret=${SEED}&digits=six`, /otpauth URI: digits: must be a whole number/);
    fails(`otpauth://totp/x?secret=${SEED}&period=0`, /otpauth URI: period: must be a positive/);
    fails(`otpauth://totp/x?secret=${SEED}&period=-5`, /otpauth URI: period: must be a whole number/);
    fails(`otpauth://hotp/x?secret=${SEED}`, /counter is required for hotp/);
    fails(`otpauth://hotp/x?secret=${SEED}&counter=-1`, /otpauth URI: counter: must be a whole number/);
    fails(`otpauth://totp/%E0%A4?secret=${SEED}`, /label has invalid %-encoding/);
  });
  it('refuses a parameter that decides the codes when it is given twice (#14.9), naming no value', () => {
    const OTHER = 'GEZDGNBVGY3TQOJQ';
    fails(`otpauth://totp/x?secret=${SEED}&secret=${OTHER}`, /otpauth URI: secret is given more than once/);
    fails(`otpauth://totp/x?secret=${SEED}&SECRET=${SEED}`, /secret is given more than once/);
    fails(`otpauth://totp/x?secret=${SEED}&digits=6&digits=8`, /digits is given more than once/);
    fails(`otpauth://totp/x?secret=${SEED}&period=30&period=60`, /period is given more than once/);
    fails(
      `otpauth://totp/x?secret=${SEED}&algorithm=SHA1&algorithm=SHA256`,
      /algorithm is given more than once/,
    );
    fails(`otpauth://hotp/x?secret=${SEED}&counter=1&counter=2`, /counter is given more than once/);
    // issuer only names the account: the first still wins
    assert.equal(parseOtpauthUri(`otpauth://totp/x?secret=${SEED}&issuer=A&issuer=B`).issuer, 'A');
  });
});

describe('otpauth URI rendering', () => {
  it('round-trips settings, including unicode and reserved characters in labels', () => {
    const infos: OtpauthInfo[] = [
      { type: 'totp', secret: new Uint8Array(randomBytes(20)), algorithm: 'sha1', digits: 6, period: 30 },
      {
        type: 'totp',
        secret: new Uint8Array(randomBytes(32)),
        algorithm: 'sha256',
        digits: 8,
        period: 45,
        issuer: 'Zürich & Co?',
        account: 'ålice:admin@example.com',
      },
      {
        type: 'hotp',
        secret: new Uint8Array(randomBytes(64)),
        algorithm: 'sha512',
        digits: 7,
        period: 30,
        counter: 12345,
        account: 'bob',
      },
    ];
    for (const info of infos) {
      const uri = toOtpauthUri(info);
      assert.match(uri, /^otpauth:\/\/(totp|hotp)\/[^?#]*\?secret=[A-Z2-7]+&/);
      assert.ok(uri.includes(encodeBase32(info.secret)));
      const back = parseOtpauthUri(uri);
      assert.equal(back.type, info.type);
      assert.deepEqual(back.secret, info.secret);
      assert.equal(back.algorithm, info.algorithm);
      assert.equal(back.digits, info.digits);
      if (info.type === 'totp') assert.equal(back.period, info.period);
      assert.equal(back.counter, info.counter);
      assert.equal(back.issuer, info.issuer);
      assert.equal(back.account, info.account);
    }
  });
  it('renders the Key Uri Format shape', () => {
    const uri = toOtpauthUri({
      type: 'totp',
      secret: SEED_BYTES,
      algorithm: 'sha1',
      digits: 6,
      period: 30,
      issuer: 'Example',
      account: 'alice@google.com',
    });
    assert.equal(
      uri,
      `otpauth://totp/Example:alice%40google.com?secret=${SEED}&issuer=Example&algorithm=SHA1&digits=6&period=30`,
    );
  });
});
