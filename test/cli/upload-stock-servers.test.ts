// `otpbackup upload` as a CI pipeline runs it (built CLI, CI=true, secrets only in the environment)
// against the stock daemons people run: OpenSSH sshd (PAM password + google-authenticator code over
// keyboard-interactive, home not chrooted) and vsftpd (PASS = password+code, chrooted home). Into a
// named directory, and into the login directory itself. Each skipped locally when its server (or
// root) is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliRun, cli, readTree, type Sandbox, sandbox, tempNames } from '../backup/e2e-helpers.js';
import { type SshdHandle, startSshd } from '../servers/sshd.js';
import { startVsftpd, type VsftpdHandle } from '../servers/vsftpd.js';
import { requireTool } from '../support/require.js';

const noSshd = requireTool('sshd');
const noVsftpd = requireTool('vsftpd');

let box: Sandbox;
let src: string;
const secrets: string[] = [];

before(() => {
  box = sandbox('otpbackup-upload-stock-');
  src = join(box.dir, 'site');
  mkdirSync(join(src, 'assets'), { recursive: true });
  writeFileSync(join(src, 'index.html'), '<h1>stock</h1>\n');
  writeFileSync(join(src, 'assets/app.bin'), Buffer.alloc(90_000, 5));
});
after(() => box?.cleanup());

async function upload(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const r = await cli(['upload', ...args], { ...box.env, CI: 'true', ...env });
  const out = `${r.stdout}${r.stderr}`;
  for (const s of secrets) assert.ok(!out.includes(s), `a secret leaked: ${out}`);
  assert.doesNotMatch(out, /\b\d{6}\b/, 'no one-time code in the output');
  return r;
}

/** `dir` holds the sources, byte for byte, and no temporary upload names. */
function assertLanded(dir: string) {
  const want = readTree(src);
  const got = readTree(dir);
  for (const [k, v] of want) assert.ok(got.get(k)?.equals(v), `${k}: same bytes in ${dir}`);
  assert.deepEqual(tempNames(dir), [], 'no temp names remain');
}

describe('otpbackup upload to OpenSSH sshd', { skip: noSshd }, () => {
  let s: SshdHandle;
  before(async () => {
    s = await startSshd();
    for (const u of [s.users.totp, s.users.reuse]) secrets.push(u.password, u.secret);
  });
  after(() => s?.stop());
  const env = (u: SshdHandle['users']['totp']) => ({
    OTPBACKUP_PASSWORD: u.password,
    OTPBACKUP_TOTP_SECRET: u.secret,
  });
  const url = (u: { name: string }, path: string) => `sftp://${u.name}@127.0.0.1:${s.ports.kbd}${path}`;

  test('into an absolute directory of the home; a code is never reused (DISALLOW_REUSE)', async () => {
    const u = s.users.totp;
    const dir = join(s.home(u.name), 'site');
    const r = await upload([src, '--to', url(u, dir), '--host-key', s.sshHostKeyFingerprint], env(u));
    assert.equal(r.status, 0, r.stderr);
    assertLanded(dir);
  });

  test('into a directory relative to the home: sftp://user@host:port/~/dir', async () => {
    const u = s.users.reuse;
    const r = await upload(
      [src, '--to', url(u, '/~/tilde'), '--host-key', s.sshHostKeyFingerprint, '--otp-reuse', 'allow'],
      env(u),
    );
    assert.equal(r.status, 0, r.stderr);
    assertLanded(join(s.home(u.name), 'tilde'));
  });

  test('--key on a publickey,keyboard-interactive port: the key, then PAM password and code', async () => {
    const u = s.users.reuse;
    const to = `sftp://${u.name}@127.0.0.1:${s.ports.keyKbd}/~/keyed`;
    const r = await upload(
      [
        src,
        '--to',
        to,
        '--key',
        s.clientKeyPath,
        '--host-key',
        s.sshHostKeyFingerprint,
        '--otp-reuse',
        'allow',
      ],
      env(u),
    );
    assert.equal(r.status, 0, r.stderr);
    assertLanded(join(s.home(u.name), 'keyed'));
  });

  test('download brings the upload back over sftp: same bytes and mtimes', async () => {
    const u = s.users.totp;
    const to = join(box.dir, 'back-sshd');
    const r = await cli(
      ['download', url(u, join(s.home(u.name), 'site')), '--to', to, '--host-key', s.sshHostKeyFingerprint],
      { ...box.env, CI: 'true', ...env(u) },
    );
    assert.equal(r.status, 0, r.stderr);
    const got = readTree(join(to, 'site'));
    for (const [k, b] of readTree(src)) assert.ok(got.get(k)?.equals(b), `${k}: same bytes`);
    assert.equal(
      Math.floor(statSync(join(to, 'site', 'index.html')).mtimeMs / 1000),
      Math.floor(statSync(join(src, 'index.html')).mtimeMs / 1000),
      'SETSTAT kept the source mtime, and the download restored it',
    );
  });

  test('into the login directory: sftp://user@host:port (no path) and /~/', async () => {
    const u = s.users.reuse;
    for (const path of ['', '/~/']) {
      const r = await upload(
        [src, '--to', url(u, path), '--host-key', s.sshHostKeyFingerprint, '--otp-reuse', 'allow'],
        env(u),
      );
      assert.equal(r.status, 0, `${path || '(no path)'}: ${r.stderr}`);
      assertLanded(s.home(u.name));
    }
  });

  test('download of sftp://host/file (absolute) that is not there names the /~/ form; that form works', async () => {
    const u = s.users.reuse;
    const to = join(box.dir, 'back-login-dir');
    const common = ['--to', to, '--host-key', s.sshHostKeyFingerprint, '--otp-reuse', 'allow'];
    const e = { ...box.env, CI: 'true', ...env(u) };
    const miss = await cli(['download', url(u, '/index.html'), ...common], e);
    assert.equal(miss.status, 3, miss.stderr);
    assert.match(miss.stderr, /\/index\.html is an absolute path/);
    assert.ok(miss.stderr.includes(`${url(u, '/~/index.html')}`), miss.stderr);
    const ok = await cli(['download', url(u, '/~/index.html'), ...common], e);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readTree(to).get('index.html')?.toString(), '<h1>stock</h1>\n');
  });
});

describe('otpbackup upload to vsftpd', { skip: noVsftpd }, () => {
  let v: VsftpdHandle;
  before(async () => {
    v = await startVsftpd();
    for (const u of [v.users.totp, v.users.reuse]) secrets.push(u.password, u.secret);
  });
  after(() => v?.stop());
  const env = (u: VsftpdHandle['users']['totp']) => ({
    OTPBACKUP_PASSWORD: u.password,
    OTPBACKUP_TOTP_SECRET: u.secret,
  });
  const url = (u: { name: string }, path: string, port = v.ports.ftp, scheme = 'ftp') =>
    `${scheme}://${u.name}@127.0.0.1:${port}${path}`;

  test('ftp: PASS is password+code by default; a code is never reused (DISALLOW_REUSE)', async () => {
    const u = v.users.totp;
    const r = await upload([src, '--to', url(u, '/site')], env(u));
    assert.equal(r.status, 0, r.stderr);
    assertLanded(join(v.home(u.name), 'site'));
  });

  test('explicit FTPS with --ca (vsftpd requires TLS session reuse on data connections)', async () => {
    const u = v.users.reuse;
    const r = await upload(
      [src, '--to', url(u, '/tls', v.ports.ftps, 'ftpes'), '--ca', v.caCertPath, '--otp-reuse', 'allow'],
      env(u),
    );
    assert.equal(r.status, 0, r.stderr);
    assertLanded(join(v.home(u.name), 'tls'));
  });

  test("download brings the upload back: same bytes, the server's mtimes (MDTM, no MLSD here)", async () => {
    const u = v.users.totp;
    const to = join(box.dir, 'back-vsftpd');
    const r = await cli(['download', url(u, '/site'), '--to', to, '--json'], {
      ...box.env,
      CI: 'true',
      ...env(u),
    });
    assert.equal(r.status, 0, r.stderr);
    const got = readTree(join(to, 'site'));
    for (const [k, b] of readTree(src)) assert.ok(got.get(k)?.equals(b), `${k}: same bytes`);
    const remoteMtime = statSync(join(v.home(u.name), 'site', 'index.html')).mtimeMs;
    assert.equal(
      Math.floor(statSync(join(to, 'site', 'index.html')).mtimeMs / 1000),
      Math.floor(remoteMtime / 1000),
    );
    // Again: everything is there and identical, nothing is fetched or refused.
    const again = await cli(['download', url(u, '/site'), '--to', to, '--json'], {
      ...box.env,
      CI: 'true',
      ...env(u),
    });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).restored, 0);
  });

  test('into the login directory: ftp://user@host:port/', async () => {
    const u = v.users.reuse;
    const r = await upload([src, '--to', url(u, '/'), '--otp-reuse', 'allow'], env(u));
    assert.equal(r.status, 0, r.stderr);
    assertLanded(v.home(u.name));
  });
});
