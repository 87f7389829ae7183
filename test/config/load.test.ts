// Config loading: fixtures, defaults, every problem at once with lines, plain secrets refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { splitWords } from '../../src/argv.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { isOtpBackupError, type OtpBackupError } from '../../src/errors.js';

const fixtures = new URL('../../fixtures/config/', import.meta.url).pathname;
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'otpb-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(text: string): OtpBackupError {
  try {
    parseConfig(text, 'config.yaml');
  } catch (e) {
    assert.ok(isOtpBackupError(e));
    return e;
  }
  assert.fail('expected a config error');
}

describe('valid configs', () => {
  it('minimal: fills every default', () => {
    const c = parseConfig(read('valid-minimal.yaml'), 'min.yaml');
    assert.deepEqual(c.accounts.nas, {
      name: 'nas',
      protocol: 'ftp',
      host: '127.0.0.1',
      port: 21,
      user: 'backup',
      remoteDir: '.',
      template: '${TOTP}',
      otp: {
        type: 'totp',
        secret: 'env:NAS_TOTP_SEED',
        algorithm: 'sha1',
        digits: 6,
        period: 30,
        t0: 0,
        reuse: 'forbid',
        marginSeconds: 3,
      },
      trust: {},
    });
    assert.deepEqual(c.jobs.docs, {
      name: 'docs',
      account: 'nas',
      sources: ['~/Documents'],
      remoteDir: 'docs',
      schedule: '@daily',
      symlinks: 'skip',
      mode: 'mirror',
      delete: false,
      checksum: false,
    });
  });

  it('full: keeps explicit values; port and template defaults depend on protocol and password', () => {
    const c = parseConfig(read('valid-full.yaml'), 'full.yaml');
    const { nas, offsite, implicit } = c.accounts;
    assert.equal(nas?.port, 2121);
    assert.equal(nas?.template, '${PASSWORD};${TOTP}');
    assert.equal(nas?.otp.algorithm, 'sha256');
    assert.equal(nas?.otp.digits, 8);
    assert.equal(nas?.otp.reuse, 'allow');
    assert.equal(offsite?.port, 22);
    assert.equal(offsite?.template, '${PASSWORD}${TOTP}');
    assert.equal(offsite?.otp.counter, 12);
    assert.deepEqual(offsite?.authMethods, ['publickey', 'keyboard-interactive']);
    assert.deepEqual(offsite?.prompts, [{ pattern: 'verification code', answer: '${HOTP}' }]);
    assert.equal(implicit?.port, 990);
    assert.deepEqual(implicit?.otp.command, ['oathtool', '--totp', '-b', '@/run/seed']);
    assert.deepEqual(c.vault, {
      path: '~/.local/share/otpbackup/vault.enc',
      passphraseCommand: ['pass', 'show', 'otpbackup vault'],
    });
    assert.equal(c.jobs.docs?.timezone, 'Europe/Berlin');
    assert.deepEqual(c.jobs.docs?.retention, { keep: 5, days: 30 });
    assert.equal(c.jobs.mail?.remoteDir, 'mail');
  });

  it('copyFirst: true is kept, false or absent leaves it out; a non-boolean is refused', () => {
    const base = read('valid-minimal.yaml');
    const c = parseConfig(`${base}    copyFirst: true\n`, 'c.yaml');
    assert.equal(c.jobs.docs?.copyFirst, true);
    assert.equal(parseConfig(`${base}    copyFirst: false\n`, 'c.yaml').jobs.docs?.copyFirst, undefined);
    assert.equal(parseConfig(base, 'c.yaml').jobs.docs?.copyFirst, undefined);
    assert.match(problemsOf(`${base}    copyFirst: often\n`).message, /jobs\.docs\.copyFirst/);
  });

  it('an empty file is an empty config', () => {
    assert.deepEqual(parseConfig('# nothing yet\n', 'e.yaml'), { path: 'e.yaml', accounts: {}, jobs: {} });
  });
});

describe('invalid configs', () => {
  it('reports every problem at once, each with path and line, in file order (exit code 2)', () => {
    const e = problemsOf(read('invalid-many.yaml'));
    assert.equal(e.code, 'config');
    assert.equal(e.exitCode, 2);
    assert.deepEqual(
      e.details?.map((d) => d.replace(/: .*\(line/, ' (line')),
      [
        'accounts.nas.protocol (line 4)',
        'accounts.nas.port (line 6)',
        'accounts.nas.otp.digits (line 10)',
        'accounts.nas.otp.algoritm (line 11)',
        'accounts.other.template (line 16)',
        'jobs.docs.account (line 21)',
        'jobs.docs.schedule (line 23)',
        'jobs.docs.mode (line 24)',
      ],
    );
    assert.ok(e.details?.includes('accounts.nas.port: expected 1–65535, got 70000 (line 6)'));
    assert.match(e.message, /^config\.yaml: 8 problems: accounts\.nas\.protocol/);
    assert.match(e.message, /did you mean "algorithm"\?/);
    assert.match(e.message, /did you mean "nas"\?/);
    assert.match(e.message, /unknown variable "PASWORD"/);
    assert.ok(!e.message.includes('\n'));
    for (const d of e.details ?? []) assert.ok(!d.includes('\n'));
  });

  it('refuses plain secrets without repeating them', () => {
    const e = problemsOf(read('invalid-plain-secret.yaml'));
    assert.equal(e.details?.length, 2);
    assert.match(e.details![0]!, /^accounts\.nas\.password: looks like a plain secret.*env:VAR.*\(line 6\)$/);
    assert.match(e.details![1]!, /^accounts\.nas\.otp\.secret: looks like a plain secret.*\(line 8\)$/);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /hunter2|JBSWY3DPEHPK3PXP/);
  });

  it('unknown keys never echo their values either', () => {
    const e = problemsOf(
      'accounts:\n  a:\n    protocol: ftp\n    host: h\n    user: u\n    passwd: hunter2\n    otp: {secret: env:S}\n',
    );
    assert.match(e.message, /accounts\.a\.passwd: unknown key \(did you mean "password"\?\).*\(line 6\)/);
    assert.doesNotMatch(e.message, /hunter2/);
  });

  it('YAML syntax errors carry lines', () => {
    const e = problemsOf(read('invalid-syntax.yaml'));
    assert.ok(e.details!.length >= 1);
    for (const d of e.details!) assert.match(d, /^YAML syntax: .* \(line \d+\)$/);
  });

  it('missing required fields point at their parent', () => {
    const e = problemsOf(read('invalid-missing.yaml'));
    assert.deepEqual(
      e.details?.map((d) => d.split(':')[0]),
      ['accounts.nas.protocol', 'accounts.nas.user', 'accounts.nas.otp', 'jobs.docs.sources'],
    );
  });

  it('checks cross-field rules: ${PASSWORD} without a password, code missing from an FTP template', () => {
    const base = 'accounts:\n  a:\n    protocol: ftp\n    host: h\n    user: u\n    otp: {secret: env:S}\n';
    assert.match(
      problemsOf(`${base}    template: \${PASSWORD}\${TOTP}\n`).message,
      /uses \$\{PASSWORD\} but the account has no "password"/,
    );
    assert.match(
      problemsOf(`${base}    password: env:P\n    template: \${PASSWORD}\n`).message,
      /does not contain the code/,
    );
  });

  it('validates names, fingerprints, time zones and duplicates', () => {
    const text = [
      'accounts:',
      '  "bad name":',
      '    protocol: sftp',
      '    host: h',
      '    user: u',
      '    otp: {secret: env:S}',
      '    trust: {hostKeys: [MD5:aa]}',
      'jobs:',
      '  j:',
      '    account: "bad name"',
      '    sources: [a]',
      '    timezone: Mars/Olympus',
    ].join('\n');
    const e = problemsOf(text);
    assert.match(e.message, /accounts\.bad name: account names may use/);
    assert.match(e.message, /trust\.hostKeys\[0\]: expected an SSH fingerprint/);
    assert.match(e.message, /jobs\.j\.timezone: unknown time zone "Mars\/Olympus" \(line 12\)/);
    assert.match(
      problemsOf('accounts: {}\naccounts: {}\n').message,
      /YAML syntax: .*(duplicate|unique).*\(line 2\)/i,
    );
  });
});

describe('loadConfig', () => {
  it('a missing file is an empty config at the XDG path', async () => {
    const c = await loadConfig({ HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg') });
    assert.deepEqual(c, { path: join(dir, 'xdg', 'otpbackup', 'config.yaml'), accounts: {}, jobs: {} });
  });

  it('--config beats OTPBACKUP_CONFIG, which beats the XDG path', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, read('valid-minimal.yaml'));
    writeFileSync(b, 'accounts: {}\n');
    assert.ok((await loadConfig({ HOME: dir, OTPBACKUP_CONFIG: a })).accounts.nas);
    assert.equal((await loadConfig({ HOME: dir, OTPBACKUP_CONFIG: a }, b)).path, b);
  });

  it('a broken file is a config error naming the path', async () => {
    const p = join(dir, 'broken.yaml');
    writeFileSync(p, read('invalid-many.yaml'));
    await assert.rejects(loadConfig({ HOME: dir }, p), (e) => isOtpBackupError(e) && e.message.startsWith(p));
  });
});

describe('splitWords', () => {
  it('splits like a shell word list without running one', () => {
    assert.deepEqual(splitWords(`pass show "a b" 'c d' e\\ f $HOME ;`), [
      'pass',
      'show',
      'a b',
      'c d',
      'e f',
      '$HOME',
      ';',
    ]);
    assert.deepEqual(splitWords('x ""'), ['x', '']);
    assert.throws(() => splitWords("a 'b"), /unterminated single quote/);
  });
});
