// `account test` and the live test in `account add`, spawned as users run them, against the real
// ProFTPD (FTP: the code alone as PASS; SFTP keyboard-interactive). Skipped locally when ProFTPD is
// missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliRun, cli, filesContaining, readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;
let secrets: string[];
let configFile: string;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-acct-test-');
  const u = server.users.totp;
  secrets = [u.secret, u.password];
  configFile = join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

async function run(args: string[]): Promise<CliRun> {
  const u = server.users.totp;
  const r = await cli(args, { ...box.env, T_SEED: u.secret, T_PW: u.password, BAD_SEED: 'JBSWY3DPEHPK3PXP' });
  for (const s of secrets)
    assert.ok(
      !r.stdout.includes(s) && !r.stderr.includes(s),
      `a secret leaked in the output of ${args.join(' ')}`,
    );
  return r;
}

const config = () => (existsSync(configFile) ? readFileSync(configFile, 'utf8') : '');
const ftpUrl = () => `ftp://${server.users.totp.name}@127.0.0.1:${server.ports.ftp}/`;
const sftpUrl = () => `sftp://${server.users.totp.name}@127.0.0.1:${server.ports.sftpKbd}/`;
const common = ['--store', 'vault', '--otp-reuse', 'allow'];

describe('account add (live test) and account test against ProFTPD', { skip: missing }, () => {
  test('ftp: add logs in and writes a probe before saving; account test reports', async () => {
    const add = await run([
      'account',
      'add',
      'ftp',
      '--url',
      ftpUrl(),
      '--totp-secret-env',
      'T_SEED',
      '--template',
      '${OTP}',
      ...common,
    ]);
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /login and probe file OK/);
    assert.match(config(), /^ {2}ftp:/m);
    const t = await run(['account', 'test', 'ftp', '--json']);
    assert.equal(t.status, 0, t.stderr);
    const r = JSON.parse(t.stdout);
    assert.equal(r.ok, true);
    assert.deepEqual(r.prompts, []);
    assert.equal(typeof r.rttMs, 'number');
    assert.ok(r.secondsLeftInStep >= 0 && r.secondsLeftInStep <= 30, String(r.secondsLeftInStep));
    assert.ok(Math.abs(r.clockOffsetSeconds) <= 2, `same machine, same clock: ${r.clockOffsetSeconds}`);
    const text = await run(['account', 'test', 'ftp']);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /login and probe file OK/);
    assert.match(text.stdout, /clock offset: [+-]?\d+ s/);
    const home = server.home(server.users.totp.name);
    assert.deepEqual(
      [...readTree(home).keys()].filter((k) => k.includes('otpbackup-probe')),
      [],
      'the probe files were removed',
    );
  });

  test('ftp: a wrong seed is refused and nothing is saved', async () => {
    const before = config();
    const add = await run([
      'account',
      'add',
      'bad',
      '--url',
      ftpUrl(),
      '--totp-secret-env',
      'BAD_SEED',
      '--template',
      '${OTP}',
      ...common,
    ]);
    assert.equal(add.status, 4, add.stderr);
    assert.equal(config(), before, 'the config is unchanged');
  });

  test('sftp: an unknown host key without a terminal is refused with its fingerprint and the flag', async () => {
    const before = config();
    const add = await run([
      'account',
      'add',
      'sftp',
      '--url',
      sftpUrl(),
      '--totp-secret-env',
      'T_SEED',
      '--password-env',
      'T_PW',
      ...common,
    ]);
    assert.equal(add.status, 1, add.stderr);
    assert.ok(add.stderr.includes(server.sshHostKeyFingerprint), add.stderr);
    assert.match(add.stderr, /--trust-host-key SHA256:/);
    const wrong = await run([
      'account',
      'add',
      'sftp',
      '--url',
      sftpUrl(),
      '--totp-secret-env',
      'T_SEED',
      '--password-env',
      'T_PW',
      '--trust-host-key',
      'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ...common,
    ]);
    assert.equal(wrong.status, 1, wrong.stderr);
    assert.match(wrong.stderr, /does not match --trust-host-key/);
    assert.equal(config(), before, 'the config is unchanged');
  });

  test('sftp: with the right pin the account is tested and saved; account test shows prompts', async () => {
    const add = await run([
      'account',
      'add',
      'sftp',
      '--url',
      sftpUrl(),
      '--totp-secret-env',
      'T_SEED',
      '--password-env',
      'T_PW',
      '--trust-host-key',
      server.sshHostKeyFingerprint,
      '--json',
      ...common,
    ]);
    assert.equal(add.status, 0, add.stderr);
    assert.equal(JSON.parse(add.stdout).tested, true);
    const t = await run(['account', 'test', 'sftp', '--json']);
    assert.equal(t.status, 0, t.stderr);
    const r = JSON.parse(t.stdout);
    assert.equal(r.fingerprint, server.sshHostKeyFingerprint);
    assert.ok(r.prompts.length >= 1, t.stdout);
    assert.ok(r.prompts.every((p: { rule: string }) => typeof p.rule === 'string' && p.rule.length > 0));
    assert.ok(r.prompts.some((p: { usesCode: boolean }) => p.usesCode));
    assert.ok(Math.abs(r.clockOffsetSeconds) <= 2, String(r.clockOffsetSeconds));
    assert.deepEqual(filesContaining(box.dir, secrets), [], 'no secret in any file of the sandbox');
  });

  test('ftps: an unknown certificate is refused; pinned with --trust-host-key it is tested and saved', async () => {
    const url = `ftpes://${server.users.totp.name}@127.0.0.1:${server.ports.ftps}/`;
    const args = [
      'account',
      'add',
      'tls',
      '--url',
      url,
      '--totp-secret-env',
      'T_SEED',
      '--template',
      '${OTP}',
      ...common,
    ];
    const before = config();
    const refused = await run(args);
    assert.equal(refused.status, 1, refused.stderr);
    assert.ok(refused.stderr.includes(server.tlsCertFingerprint), refused.stderr);
    assert.match(refused.stderr, /--trust-host-key SHA256:/);
    assert.equal(config(), before, 'the config is unchanged');
    const add = await run([...args, '--trust-host-key', server.tlsCertFingerprint]);
    assert.equal(add.status, 0, add.stderr);
    assert.ok(config().includes(server.tlsCertFingerprint), 'the certificate is pinned');
    const t = await run(['account', 'test', 'tls', '--json']);
    assert.equal(t.status, 0, t.stderr);
    const r = JSON.parse(t.stdout);
    assert.equal(r.fingerprint, server.tlsCertFingerprint);
    assert.equal(r.fingerprintSource, 'pinned');
  });
});
