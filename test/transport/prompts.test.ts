import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import type { Credentials } from '../../src/transport/login.js';
import { PromptResponder } from '../../src/transport/sftp/prompts.js';

const PW = 'hunter2-pw';
const CODE = '123456';
const creds: Credentials = {
  user: 'u',
  password: PW,
  code: CODE,
  vars: { USER: 'u', PASSWORD: PW, TOTP: CODE, OTP: CODE, HOTP: CODE },
};

function account(over: Partial<Account> = {}): Account {
  return {
    name: 'acct',
    protocol: 'sftp',
    host: 'h',
    port: 22,
    user: 'u',
    remoteDir: '/',
    template: '${PASSWORD}${TOTP}',
    otp: { type: 'totp', algorithm: 'sha1', digits: 6, period: 30, t0: 0, reuse: 'forbid', marginSeconds: 3 },
    trust: {},
    ...over,
  };
}

function answer(prompts: string[], acc = account(), c = creds) {
  const r = new PromptResponder(acc, c);
  return { answers: r.answer(prompts.map((prompt) => ({ prompt, echo: false }))), log: r.log };
}

function throws(fn: () => unknown, code: string, re: RegExp): OtpBackupError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof OtpBackupError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, re);
    return e;
  }
  assert.fail('expected an error');
}

describe('default rules', () => {
  const cases: [string, string, string][] = [
    ['Verification code: ', CODE, 'default:code'], // ProFTPD mod_auth_otp, pam_google_authenticator
    ['Authentication code: ', CODE, 'default:code'], // SFTPGo second round
    ['Password: ', PW, 'default:password'], // SFTPGo first round
    ['Password & verification code: ', PW + CODE, 'default:combined'], // pam_google_authenticator forward_pass
    ["One-time password (OATH) for `u': ", CODE, 'default:code'], // pam_oath: a one-time password is the code
    ['Enter PASSCODE: ', CODE, 'default:code'],
    ['OTP: ', CODE, 'default:code'],
    ['Token: ', CODE, 'default:code'],
    ["u@h's password: ", PW, 'default:password'],
  ];
  for (const [prompt, want, rule] of cases) {
    test(JSON.stringify(prompt), () => {
      const r = answer([prompt]);
      assert.deepEqual(r.answers, [want]);
      assert.equal(r.log[0]?.rule, rule);
      assert.equal(r.log[0]?.usesCode, want.includes(CODE));
    });
  }

  test('several prompts in one round are answered by meaning, not position', () => {
    assert.deepEqual(answer(['Verification code: ', 'Password: ']).answers, [CODE, PW]);
  });

  test('combined prompt follows the account template', () => {
    assert.deepEqual(
      answer(['Password & verification code: '], account({ template: '${PASSWORD};${TOTP}' })).answers,
      [`${PW};${CODE}`],
    );
  });

  test('a round without prompts gets empty answers and is logged', () => {
    const r = answer([]);
    assert.deepEqual(r.answers, []);
    assert.deepEqual(r.log, [{ prompt: '', rule: 'empty', usesCode: false }]);
  });
});

describe('account rules', () => {
  test('are tried before the defaults, case-insensitively', () => {
    const acc = account({
      prompts: [
        { pattern: '^password', answer: '${PASSWORD}-${TOTP}' },
        { pattern: 'PIN', answer: '${TOTP}' },
      ],
    });
    const r = answer(['PASSWORD: ', 'Your pin: '], acc);
    assert.deepEqual(r.answers, [`${PW}-${CODE}`, CODE]);
    assert.deepEqual(
      r.log.map((l) => l.rule),
      ['account.prompts[0]', 'account.prompts[1]'],
    );
  });

  test('an invalid pattern is a config error naming the field', () => {
    throws(
      () => answer(['x'], account({ prompts: [{ pattern: '(', answer: '${TOTP}' }] })),
      'config',
      /accounts\.acct\.prompts\[0\]\.pattern/,
    );
  });
});

describe('refusals', () => {
  test('unknown prompt: config error quoting it, with a rule to add', () => {
    const e = throws(() => answer(['Favourite colour? ']), 'config', /"Favourite colour\? "/);
    assert.match(e.hint ?? '', /prompts/);
    assert.ok(e.hint?.includes("pattern: 'Favourite colour\\?'"), e.hint);
  });

  test('a prompt asked again in the same connection is refused, never answered with the spent code', () => {
    const r = new PromptResponder(account(), creds);
    assert.deepEqual(r.answer([{ prompt: 'Verification code: ' }]), [CODE]);
    throws(() => r.answer([{ prompt: 'Verification code: ' }]), 'auth', /again/);
  });

  test('password prompt without a password is a config error', () => {
    const noPw: Credentials = { user: 'u', code: CODE, vars: { TOTP: CODE } };
    throws(() => answer(['Password: '], account(), noPw), 'config', /"Password: "/);
  });

  test('no secret value ever appears in errors or the log', () => {
    const r = new PromptResponder(account(), creds);
    r.answer([{ prompt: 'Password: ' }, { prompt: 'Verification code: ' }]);
    const messages: string[] = [JSON.stringify(r.log)];
    for (const p of ['Verification code: ', 'Favourite colour? ']) {
      try {
        r.answer([{ prompt: p }]);
      } catch (e) {
        messages.push((e as OtpBackupError).message, (e as OtpBackupError).hint ?? '');
      }
    }
    const all = messages.join('\n');
    assert.equal(messages.length, 5);
    assert.ok(!all.includes(PW) && !all.includes(CODE), all);
  });
});
