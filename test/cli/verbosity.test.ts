// One verbosity ladder for every command (#13.5), against the real ProFTPD: nothing extra without
// flags; -v what was done; -vv each file and each login step; --debug the protocol (FTP commands and
// replies, SSH messages) with the password, seed and code masked. Skipped locally when ProFTPD is
// missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;
let src: string;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-verbosity-');
  box.env.SEED = server.users.totp.secret;
  src = join(box.dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'one');
  const common = ['--totp-secret-env', 'SEED', '--otp-reuse', 'allow', '--store', 'vault', '--no-test'];
  for (const args of [
    ['pro', '--url', `ftp://totp@127.0.0.1:${server.ports.ftp}/`, '--template', '${TOTP}'],
    ['sec', '--url', `sftp://totp@127.0.0.1:${server.ports.sftpKbd}/`].concat([
      '--trust-host-key',
      server.sshHostKeyFingerprint,
    ]),
  ]) {
    const r = await cli(['account', 'add', ...args, ...common], box.env);
    assert.equal(r.status, 0, r.stderr);
  }
  const j = await cli(['job', 'add', 'docs', '--account', 'pro', '--source', src], box.env);
  assert.equal(j.status, 0, j.stderr);
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

/** No secret of the account in what a command printed. */
function clean(text: string) {
  assert.ok(!text.includes(server.users.totp.secret), 'the seed was printed');
  assert.ok(!text.includes(box.env.OTPBACKUP_PASSPHRASE!), 'the passphrase was printed');
}

describe('the verbosity ladder', { skip: missing }, () => {
  test('account test: -v, -vv and --debug mean what run means', async () => {
    const at = async (...flags: string[]) => {
      const r = await cli([...flags, 'account', 'test', 'pro'], box.env);
      assert.equal(r.status, 0, r.stderr);
      clean(r.stdout + r.stderr);
      return r.stderr;
    };
    const quiet = await at();
    assert.doesNotMatch(quiet, /login as|ftp: /);
    assert.doesNotMatch(await at('-v'), /login as|ftp: [<>]/, '-v: no login steps yet');
    const vv = await at('-vv');
    assert.match(vv, /^pro: login as totp to ftp:\/\/127\.0\.0\.1:\d+ with TOTP step \d+$/m);
    assert.match(vv, /^pro: login accepted$/m);
    assert.doesNotMatch(vv, /ftp: [<>]/, '-vv: no protocol');
    const debug = await at('--debug');
    assert.match(debug, /^pro: login as totp/m, '--debug includes -vv');
    assert.match(debug, /^pro: ftp: > USER totp$/m);
    assert.match(debug, /^pro: ftp: > PASS ###$/m);
    assert.match(debug, /^pro: ftp: < 230 /m);
    assert.doesNotMatch(debug, /PASS \d/, 'the code is masked');
  });

  test('sftp --debug shows SSH messages', async () => {
    const r = await cli(['--debug', 'account', 'test', 'sec'], box.env);
    assert.equal(r.status, 0, r.stderr);
    clean(r.stdout + r.stderr);
    assert.match(r.stderr, /^sec: ssh: Outbound: Sending USERAUTH_INFO_RESPONSE/m);
    assert.match(r.stderr, /^sec: sftp: trying keyboard-interactive$/m);
  });

  test('run and upload: -v the summary, -vv each file and the login', async () => {
    const runAt = async (...flags: string[]) => {
      writeFileSync(join(src, 'a.txt'), `changed ${flags.join('')} ${Math.random()}`);
      const r = await cli(['run', '--job', 'docs', ...flags], box.env);
      assert.equal(r.status, 0, r.stderr);
      clean(r.stdout + r.stderr);
      return r;
    };
    const q = await runAt();
    assert.equal(q.stdout, '');
    assert.doesNotMatch(q.stderr, /login as/);
    const v = await runAt('-v');
    assert.match(v.stdout, /^job docs: ok, 1 uploaded/m);
    assert.doesNotMatch(v.stdout, /uploaded a\.txt/);
    assert.doesNotMatch(v.stderr, /login as/);
    const vv = await runAt('-vv');
    assert.match(vv.stdout, /^docs: uploaded a\.txt/m);
    assert.match(vv.stderr, /^pro: login as totp/m);

    const up = async (...flags: string[]) => {
      const r = await cli(
        [
          ...flags,
          'upload',
          join(src, 'a.txt'),
          '--to',
          `ftp://totp@127.0.0.1:${server.ports.ftp}/up`,
        ].concat(['--template', '${TOTP}', '--otp-reuse', 'allow']),
        { ...box.env, OTPBACKUP_TOTP_SECRET: server.users.totp.secret },
      );
      assert.equal(r.status, 0, r.stderr);
      clean(r.stdout + r.stderr);
      return r;
    };
    assert.equal((await up()).stdout, '');
    const uv = await up('-v');
    assert.match(uv.stdout, /^uploaded 1 file\(s\)/m);
    assert.doesNotMatch(uv.stderr, /login as/);
    const uvv = await up('-vv');
    assert.match(uvv.stdout, /uploaded a\.txt/);
    assert.match(uvv.stderr, /^upload: login as totp/m);
    assert.match((await up('--debug')).stderr, /^upload: ftp: > STOR /m);
  });
});
