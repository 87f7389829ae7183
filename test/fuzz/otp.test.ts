// Fuzzes the OTP input parsers: login templates, Base32/hex seeds and otpauth:// URIs. Each input
// either parses (and then round-trips) or is refused with a one-line OtpBackupError('config');
// an error about a seed never repeats the seed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import {
  encodeBase32,
  expandTemplate,
  parseOtpauthUri,
  parseSecret,
  parseTemplate,
  previewTemplate,
  toOtpauthUri,
} from '../../src/otp/index.js';
import { caseCount, expectOneLine, fuzz, fuzzFrom, show } from './gen.js';

const N = caseCount();

const TEMPLATES = [
  '${PASSWORD}${TOTP}',
  '${PASSWORD};${TOTP}',
  '${TOTP}',
  '$<PASSWORD>$<OTP>',
  'pre$$fix${USER}:${HOTP}',
  '${PASSWORD}${OTP}',
];
const TEMPLATE_DICT = ['${', '$<', '}', '>', '$$', 'PASSWORD', 'TOTP', 'OTP', 'HOTP', 'USER', 'password'];

const SEEDS = [
  'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
  'jbsw y3dp ehpk 3pxp',
  'JBSW-Y3DP-EHPK-3PXP',
  'MFRGGZDFMZTWQ2LK====',
  'hex:3132333435363738393031323334353637383930',
  'HEX: 31:32:33',
  'MZXW6===',
];
const SEED_DICT = ['=', '====', 'hex:', '0', '1', '8', ' ', '-', 'O', 'I'];

const URIS = [
  'otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example',
  'otpauth://hotp/Co:bob?secret=GEZDGNBVGY3TQOJQ&counter=7&digits=8&algorithm=SHA256',
  'otpauth://totp/?secret=MFRGGZDF&period=60&algorithm=sha-512&digits=7',
  'OTPAUTH://TOTP/a%20b:c?SECRET=jbswy3dpehpk3pxp&issuer=A+B#frag',
  'otpauth://totp/x?secret=hex%3A3132&period=1',
];
const URI_DICT = [
  '?',
  '&',
  '=',
  '#',
  '%',
  '%3A',
  'secret=',
  'counter=',
  'period=',
  'digits=',
  'algorithm=',
  'issuer=',
  'hotp',
  'totp',
  '://',
  '&secret=',
];

describe('fuzz: otp inputs', () => {
  it(`login templates (${N} cases)`, async () => {
    await fuzz('template', N, (r) => {
      const t = fuzzFrom(r, TEMPLATES, TEMPLATE_DICT);
      let parsed: ReturnType<typeof parseTemplate>;
      try {
        parsed = parseTemplate(t);
      } catch (e) {
        expectOneLine(e, OtpBackupError, ['config']);
        return 'refused';
      }
      assert.equal(
        parsed.usesCode,
        parsed.variables.some((v) => v !== 'PASSWORD' && v !== 'USER'),
      );
      previewTemplate(t, {});
      // Expansion with every value known either succeeds or refuses a CR/LF/NUL in the literal text.
      try {
        const out = expandTemplate(t, {
          PASSWORD: 'pw',
          TOTP: '123456',
          OTP: '123456',
          HOTP: '1',
          USER: 'u',
        });
        assert.doesNotMatch(out, /[\r\n\0]/, `expansion of ${show(t)} holds a line break`);
        return 'ok';
      } catch (e) {
        expectOneLine(e, OtpBackupError, ['config']);
        assert.match(t, /[\r\n\0]/);
        return 'ok-but-not-sendable';
      }
    });
  });

  it(`Base32 and hex seeds (${N} cases)`, async () => {
    await fuzz('base32', N, (r) => {
      const s = fuzzFrom(r, SEEDS, SEED_DICT);
      let bytes: Uint8Array;
      try {
        bytes = parseSecret(s);
      } catch (e) {
        expectOneLine(e, OtpBackupError, ['config']);
        const compact = s.replace(/[\s=-]/g, '');
        if (compact.length >= 8) {
          assert.ok(
            !(e as Error).message.includes(compact),
            `error repeats the seed: ${(e as Error).message}`,
          );
        }
        return 'refused';
      }
      // What decodes re-encodes to the same bytes.
      assert.deepEqual(parseSecret(encodeBase32(bytes)), bytes);
      return bytes.length ? 'ok' : 'ok-empty';
    });
  });

  it(`otpauth:// URIs (${N} cases)`, async () => {
    await fuzz('otpauth', N, (r) => {
      const u = fuzzFrom(r, URIS, URI_DICT);
      let info: ReturnType<typeof parseOtpauthUri>;
      try {
        info = parseOtpauthUri(u);
      } catch (e) {
        expectOneLine(e, OtpBackupError, ['config']);
        const secret = /secret=([^&#]{10,})/i.exec(u)?.[1];
        if (secret)
          assert.ok(
            !(e as Error).message.includes(secret),
            `error repeats the seed: ${(e as Error).message}`,
          );
        return 'refused';
      }
      // What parses renders to a URI that parses to the same settings.
      const again = parseOtpauthUri(toOtpauthUri(info));
      assert.deepEqual(again.secret, info.secret);
      assert.equal(again.type, info.type);
      assert.equal(again.digits, info.digits);
      assert.equal(again.algorithm, info.algorithm);
      if (info.type === 'totp') assert.equal(again.period, info.period);
      else assert.equal(again.counter, info.counter);
      return 'ok';
    });
  });
});
