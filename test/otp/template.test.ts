import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import {
  expandTemplate,
  parseTemplate,
  previewSegments,
  previewTemplate,
  TEMPLATE_PRESETS,
} from '../../src/otp/index.js';

function fails(f: () => unknown, message: RegExp, code = 'config'): OtpBackupError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof OtpBackupError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.doesNotMatch(e.message, /\n/);
    return e;
  }
  assert.fail('did not throw');
}

const vals = { PASSWORD: 'hunter2!', TOTP: '123456', OTP: '123456', HOTP: '654321', USER: 'alice' };

describe('login templates', () => {
  it('has the three presets from the AnyFileBackup seed', () => {
    assert.deepEqual(
      TEMPLATE_PRESETS.map((p) => p.template),
      ['${PASSWORD}${OTP}', '${PASSWORD};${TOTP}', '${TOTP}'],
    );
    for (const p of TEMPLATE_PRESETS) assert.ok(parseTemplate(p.template).usesCode);
  });
  it('expands ${NAME} and $<NAME>, with $$ as a literal $', () => {
    assert.equal(expandTemplate('${PASSWORD}${OTP}', vals), 'hunter2!123456');
    assert.equal(expandTemplate('${PASSWORD};${TOTP}', vals), 'hunter2!;123456');
    assert.equal(expandTemplate('$<USER>:$<HOTP>', vals), 'alice:654321');
    assert.equal(expandTemplate('a$$b$$$$', vals), 'a$b$$');
    assert.equal(expandTemplate('$$${TOTP}$$', vals), '$123456$');
    assert.equal(expandTemplate('pré-${TOTP}-ü😀', vals), 'pré-123456-ü😀');
    assert.equal(expandTemplate('', vals), '');
    // Values are inserted literally, never re-expanded.
    assert.equal(expandTemplate('${PASSWORD}', { PASSWORD: '${TOTP}$$' }), '${TOTP}$$');
  });
  it('reports variables used, and whether a code or password is among them', () => {
    assert.deepEqual(parseTemplate('${PASSWORD};${TOTP}${PASSWORD}'), {
      text: '${PASSWORD};${TOTP}${PASSWORD}',
      variables: ['PASSWORD', 'TOTP'],
      usesCode: true,
      usesPassword: true,
    });
    const noCode = parseTemplate('${PASSWORD}');
    assert.equal(noCode.usesCode, false); // the CLI warns on this
    assert.equal(parseTemplate('$<HOTP>').usesCode, true);
    assert.equal(parseTemplate('${OTP}').usesPassword, false);
  });
  it('names an unknown variable and lists the known ones', () => {
    fails(
      () => parseTemplate('${PASSWORD}${CODE}'),
      /unknown variable "CODE" at position 12 \(known variables: PASSWORD, TOTP, OTP, HOTP, USER\)/,
    );
    const e = fails(() => parseTemplate('$<totp>'), /unknown variable "totp"/);
    assert.match(e.hint ?? '', /upper case: \$\{TOTP\}/);
    fails(() => parseTemplate('${}'), /empty variable name at position 1/);
  });
  it('rejects unterminated variables and a lone $', () => {
    fails(() => parseTemplate('${PASSWORD'), /"\$\{" at position 1 is not closed with "\}"/);
    fails(() => parseTemplate('x$<TOTP'), /"\$<" at position 2 is not closed with ">"/);
    fails(() => parseTemplate('${PASSWORD;${TOTP}'), /"\$\{" at position 1 is not closed/);
    fails(() => parseTemplate('$TOTP'), /"\$" at position 1 must start/);
    fails(() => parseTemplate('abc$'), /"\$" at position 4 must start/);
    fails(() => parseTemplate('é$x'), /position 2/); // positions count characters, not UTF-16 units
  });
  it('refuses missing values and line breaks, without printing values', () => {
    fails(() => expandTemplate('${PASSWORD}${TOTP}', { TOTP: '123456' }), /no value for \$\{PASSWORD\}/);
    fails(() => expandTemplate('${HOTP}', { OTP: '123456', TOTP: '123456' }), /no value for \$\{HOTP\}/);
    const e = fails(
      () => expandTemplate('${PASSWORD}', { PASSWORD: 'sec\r\nQUIT' }),
      /\$\{PASSWORD\} contains a line break/,
      'secret',
    );
    assert.doesNotMatch(e.message, /sec|QUIT/);
    fails(() => expandTemplate('a\nb${TOTP}', vals), /line break or NUL/);
  });
  it('previews with every value masked, lengths and positions visible', () => {
    assert.equal(previewTemplate('${PASSWORD};${TOTP}', {}), '••••••••;••••••');
    assert.equal(previewTemplate('${PASSWORD}$$$<OTP>', { PASSWORD: 3, OTP: 8 }), '•••$••••••••');
    const segs = previewSegments('${USER}:${TOTP}', { USER: 5, TOTP: 7 });
    assert.deepEqual(
      segs.map((s) => [s.variable ?? s.shown, s.start, s.length]),
      [
        ['USER', 1, 5],
        [':', 6, 1],
        ['TOTP', 7, 7],
      ],
    );
    fails(() => previewTemplate('${NOPE}', {}), /unknown variable "NOPE"/);
  });
});
