// `mode: versions` with retention against the real ProFTPD (#13.5): a second run with nothing changed
// makes no login at all (counted in the server's own log), and spends no one-time code. Skipped
// locally when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;

/** Successful logins so far, from the server's system log ("USER totp: Login successful."). */
const logins = () =>
  readFileSync(join(server.dir, 'log', 'system.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('USER totp: Login successful')).length;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-verslogin-');
  box.env.SEED = server.users.totp.secret;
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

describe('versions retention on ProFTPD', { skip: missing }, () => {
  test('a second unchanged run logs in 0 times', async () => {
    const src = join(box.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'a.txt'), 'one');
    const add = await cli(
      [
        'account',
        'add',
        'pro',
        '--url',
        `ftp://totp@127.0.0.1:${server.ports.ftp}/`,
        '--totp-secret-env',
        'SEED',
      ].concat(['--template', '${TOTP}', '--otp-reuse', 'allow', '--store', 'vault', '--no-test']),
      box.env,
    );
    assert.equal(add.status, 0, add.stderr);
    const job = await cli(
      ['job', 'add', 'docs', '--account', 'pro', '--source', src, '--mode', 'versions', '--keep', '3'].concat(
        ['--keep-days', '30'],
      ),
      box.env,
    );
    assert.equal(job.status, 0, job.stderr);
    const run = async () => {
      const r = await cli(['run', '--job', 'docs', '--json'], box.env);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).jobs[0];
    };
    const l0 = logins();
    assert.equal((await run()).files, 1);
    assert.equal(logins(), l0 + 1);
    writeFileSync(join(src, 'a.txt'), 'two!');
    assert.equal((await run()).files, 1);
    assert.equal(logins(), l0 + 2);
    assert.equal(readdirSync(join(server.home('totp'), 'docs', '.versions')).length, 1);
    const second = await run();
    assert.equal(second.unchanged, 1);
    assert.equal(second.loginStep, undefined, 'no one-time code spent');
    assert.equal(logins(), l0 + 2, 'the unchanged run made no login');
  });
});
