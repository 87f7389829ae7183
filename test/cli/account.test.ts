// `otpbackup account ...` spawned as users run it (needs the build): secrets go from named environment
// variables into the vault, the config holds only references, and no secret reaches any output.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { VaultStore } from '../../src/secrets/vault.js';
import { otpbackup, type RunResult } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-account-'));
after(() => rmSync(home, { recursive: true, force: true }));
const SECRETS = { NAS_PW: 'hunter2-account-pw', NAS_SEED: 'JBSWY3DPEHPK3PXP', PASS: 'vault-pass-phrase' };
const env = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'cfg'),
  XDG_STATE_HOME: join(home, 'state'),
  OTPBACKUP_PASSPHRASE: SECRETS.PASS,
  NAS_PW: SECRETS.NAS_PW,
  NAS_SEED: SECRETS.NAS_SEED.toLowerCase().replace(/(.{4})/g, '$1 '),
  URI: `otpauth://totp/Ex:bob?secret=${SECRETS.NAS_SEED}&digits=8&period=60&algorithm=SHA256`,
};
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');
const outputs: RunResult[] = [];
const run = (args: string[]) => {
  const r = otpbackup(args, { env });
  outputs.push(r);
  return r;
};

describe('otpbackup account', () => {
  it('add stores secrets in the vault and writes only references', async () => {
    const r = run([
      'account',
      'add',
      'nas',
      '--url',
      'ftp://backup@127.0.0.1:2121/backups',
      '--password-env',
      'NAS_PW',
      '--totp-secret-env',
      'NAS_SEED',
      '--store',
      'vault',
      '--no-test',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /added account nas/);
    const text = readFileSync(configFile, 'utf8');
    assert.match(text, /password: vault:nas\/password/);
    assert.match(text, /secret: vault:nas\/otp/);
    assert.match(text, /remoteDir: backups/, 'ftp://h/backups is below the login directory (RFC 1738)');
    assert.equal(statSync(configFile).mode & 0o777, 0o600);
    const vault = new VaultStore({ path: join(home, 'cfg', 'otpbackup', 'vault.enc'), env });
    assert.equal(await vault.get('nas/password'), SECRETS.NAS_PW);
    assert.equal(await vault.get('nas/otp'), SECRETS.NAS_SEED);
  });

  it('add: the URL path follows its scheme; --remote-dir overrides it (#13.1)', () => {
    const add = (name: string, url: string, ...extra: string[]) => {
      const r = run([
        'account',
        'add',
        name,
        '--url',
        url,
        '--totp-secret-env',
        'NAS_SEED',
        '--store',
        'vault',
        '--no-test',
        ...extra,
      ]);
      assert.equal(r.status, 0, r.stderr);
      const show = run(['account', 'show', name, '--json']);
      return JSON.parse(show.stdout).account.remoteDir as string;
    };
    assert.equal(add('p1', 'sftp://bob@127.0.0.1/srv/backup'), '/srv/backup', 'sftp: absolute');
    assert.equal(add('p2', 'sftp://bob@127.0.0.1/~/backup'), 'backup', 'sftp: ~/ is below the home');
    assert.equal(add('p3', 'ftp://bob@127.0.0.1//srv'), '/srv', 'ftp: // is the server root');
    assert.equal(add('p4', 'sftp://bob@127.0.0.1/'), '.', 'the login directory');
    assert.equal(add('p5', 'sftp://bob@127.0.0.1/x', '--remote-dir', '~/y'), '~/y');
    const human = run(['account', 'show', 'p4']);
    assert.match(human.stdout, /remote dir: \. \(the login directory\)/);
    const bad = run([
      'account',
      'add',
      'p6',
      '--url',
      'ftp://b@h/',
      '--remote-dir',
      'a\nb',
      '--totp-secret-env',
      'NAS_SEED',
      '--no-test',
    ]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--remote-dir/);
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5'])
      assert.equal(run(['account', 'remove', n, '--yes']).status, 0);
  });

  it('add takes parameters from an otpauth URI; a second add of the same name is refused', () => {
    const r = run([
      'account',
      'add',
      'box',
      '--url',
      'sftp://bob@127.0.0.1',
      '--otpauth-uri-env',
      'URI',
      '--store',
      'vault',
      '--no-test',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).references, { otpSecret: 'vault:box/otp' });
    const show = JSON.parse(run(['account', 'show', 'box', '--json']).stdout).account;
    assert.deepEqual(
      [show.otp.algorithm, show.otp.digits, show.otp.period, show.template, show.remoteDir],
      ['sha256', 8, 60, '${TOTP}', '.'],
    );
    const again = run([
      'account',
      'add',
      'box',
      '--url',
      'sftp://bob@h',
      '--otpauth-uri-env',
      'URI',
      '--store',
      'vault',
    ]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /account "box" already exists/);
  });

  it('add refuses bad input with exit code 2 and writes nothing', () => {
    const before = readFileSync(configFile, 'utf8');
    for (const args of [
      ['--url', 'ftp://u:inline-pw@h', '--totp-secret-env', 'NAS_SEED'],
      ['--url', 'ftp://u@h', '--totp-secret-env', 'UNSET_VAR'],
      ['--url', 'ftp://u@h'],
      ['--url', 'ftp://u@h', '--totp-secret-env', 'NAS_SEED', '--template', '${PASWORD}'],
      ['--url', 'ftp://u@h', '--totp-secret-env', 'NAS_SEED', '--digits', '4'],
    ]) {
      const r = run(['account', 'add', 'bad', ...args, '--store', 'vault']);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trimEnd().split('\n').length <= 2, true, r.stderr);
    }
    assert.equal(readFileSync(configFile, 'utf8'), before);
  });

  it('list and show print references, never values', () => {
    const list = run(['account', 'list']);
    assert.equal(list.status, 0, list.stderr);
    assert.match(
      list.stdout,
      /^NAME +PROTOCOL +HOST +PORT +USER +OTP +JOBS\nnas +ftp +127\.0\.0\.1 +2121 +backup +totp +-\nbox +sftp +127\.0\.0\.1 +22 +bob +totp +-\n$/,
    );
    const json = JSON.parse(run(['account', 'list', '--json']).stdout);
    assert.deepEqual(
      json.accounts.map((a: { name: string }) => a.name),
      ['nas', 'box'],
    );
    const show = run(['account', 'show', 'nas']);
    assert.match(show.stdout, /password: +vault:nas\/password/);
    assert.equal(run(['account', 'show', 'nope']).status, 2);
  });

  it('remove needs --yes without a terminal, then deletes the account and its vault entries', async () => {
    const r = run(['account', 'remove', 'nas']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs confirmation/);
    const ok = run(['account', 'remove', 'nas', '--yes']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.doesNotMatch(readFileSync(configFile, 'utf8'), /nas/);
    const vault = new VaultStore({ path: join(home, 'cfg', 'otpbackup', 'vault.enc'), env });
    assert.deepEqual(await vault.list(), ['box/otp']);
  });

  it('no secret appeared in any output or in the config file', () => {
    const all = outputs.map((o) => o.stdout + o.stderr).join('\n') + readFileSync(configFile, 'utf8');
    for (const s of [...Object.values(SECRETS), 'inline-pw']) assert.ok(!all.includes(s), `leaked ${s}`);
  });

  it('add --prompt and --key shape an SFTP login; both are refused for FTP and checked', () => {
    const key = join(home, 'id_test');
    writeFileSync(key, 'not parsed before login\n', { mode: 0o600 });
    const base = ['account', 'add', 'pam', '--totp-secret-env', 'NAS_SEED', '--store', 'vault', '--no-test'];
    const ok = run([
      ...base,
      '--url',
      'sftp://bob@127.0.0.1:2222/',
      '--prompt',
      '^Password & verification code=${PASSWORD}${TOTP}',
      '--prompt',
      'Token=${TOTP}',
      '--key',
      key,
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    const shown = JSON.parse(run(['account', 'show', 'pam', '--json']).stdout);
    const acct = shown.account ?? shown;
    assert.deepEqual(
      acct.prompts.map((p: { pattern: string; answer: string }) => [p.pattern, p.answer]),
      [
        ['^Password & verification code', '${PASSWORD}${TOTP}'],
        ['Token', '${TOTP}'],
      ],
    );
    assert.equal(acct.privateKey, key);
    assert.deepEqual(acct.authMethods, ['publickey', 'keyboard-interactive']);
    for (const [args, re] of [
      [
        ['--url', 'ftp://bob@127.0.0.1:2121/', '--prompt', 'x=${TOTP}'],
        /--prompt is for sftp:\/\/ accounts only/,
      ],
      [['--url', 'sftp://bob@127.0.0.1:2222/', '--key', join(home, 'missing')], /--key: cannot read/],
      [['--url', 'sftp://bob@127.0.0.1:2222/', '--prompt', '(a+)+$=${TOTP}'], /prompt|pattern/i],
    ] as const) {
      const r = run([...base.slice(0, 2), 'bad', ...base.slice(3), ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length <= 2, true, r.stderr);
    }
  });
});
