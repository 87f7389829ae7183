// Accounts whose code does not come from a stored seed, against the real ProFTPD (FTP, the code alone
// as PASS): `otp.type: prompt` asks the person on a REAL terminal (tmux) just before login, and is a
// clear exit-2 error without one; `otp.type: command` takes the first line a program prints.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { editConfig } from '../../src/config/save.js';
import { cli, readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';
import { type Tty, tty } from '../support/tty.js';

const noProftpd = requireTool('proftpd');
const noTmux = requireTool('tmux', 'oathtool');

let box: Sandbox;
let server: ProftpdHandle;
let term: Tty;

before(async () => {
  box = sandbox('otpbackup-prompt-');
  term = tty(box.dir);
  if (noProftpd) return;
  server = await startProftpd();
  const u = server.users.totp;
  const url = `ftp://${u.name}@127.0.0.1:${server.ports.ftp}/`;
  for (const name of ['typed', 'cmd']) {
    const add = await cli(
      [
        'account',
        'add',
        name,
        '--url',
        url,
        // `typed` stores no seed at all; `cmd` gets one, replaced by a command below.
        ...(name === 'typed' ? ['--otp-type', 'prompt'] : ['--totp-secret-env', 'S']),
        '--template',
        '${OTP}',
        '--store',
        'vault',
        '--otp-reuse',
        'allow',
        '--no-test',
      ],
      { ...box.env, S: u.secret },
    );
    assert.equal(add.status, 0, add.stderr);
    const src = join(box.dir, `src-${name}`);
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, `${name}-file.txt`), `hello from ${name}\n`);
    assert.equal((await cli(['job', 'add', name, '--account', name, '--source', src], box.env)).status, 0);
  }
  // The seed in a 0600 file read by a shell command: never in a process argument.
  const seedFile = join(box.dir, 'seed');
  writeFileSync(seedFile, u.secret, { mode: 0o600 });
  await editConfig(box.env, undefined, (doc) => {
    doc.setIn(['accounts', 'cmd', 'otp', 'type'], 'command');
    doc.deleteIn(['accounts', 'cmd', 'otp', 'secret']);
    doc.setIn(
      ['accounts', 'cmd', 'otp', 'command'],
      ['/bin/sh', '-c', `oathtool --totp -b - < '${seedFile}'`],
    );
  });
});
after(async () => {
  term?.close();
  await server?.stop();
  box.cleanup();
});

const landed = (name: string) =>
  [...readTree(server.home(server.users.totp.name)).keys()].some((p) => p.endsWith(`${name}-file.txt`));

describe('otp.type prompt and command in run', { skip: noProftpd }, () => {
  test('upload never prompts for an otp.type: prompt account: exit 2, nothing sent', async () => {
    const r = await cli(['upload', join(box.dir, 'src-typed'), '--account', 'typed'], box.env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /account "typed" has otp\.type: prompt, and upload never prompts/);
    assert.equal(landed('typed'), false);
  });

  test('prompt without a terminal: exit 2 naming the account and otp.type: prompt', async () => {
    const r = await cli(['run', '--job', 'typed'], box.env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /account "typed" has otp\.type: prompt, which needs a terminal/);
    assert.equal(landed('typed'), false);
  });

  test('command: the code is the first line the program prints', async () => {
    const r = await cli(['run', '--job', 'cmd', '--json'], box.env);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).jobs[0].files, 1);
    assert.ok(landed('cmd'));
  });

  test('prompt on a terminal: the typed code logs in, masked, and the job runs', {
    skip: noTmux,
  }, async () => {
    term.start('typed', 'run --job typed -v', { env: box.env, height: 40 });
    const waitFor = (re: RegExp, ms: number) => term.waitFor('typed', re, ms);
    const q = await waitFor(/One-time code for/, 20_000);
    assert.match(q, /account typed/);
    const code = execFileSync('oathtool', ['--totp', '-b', '-'], {
      input: server.users.totp.secret,
      encoding: 'utf8',
    }).trim();
    term.keys('typed', code, 'Enter');
    const text = await waitFor(/EXIT=\d+/, 40_000);
    assert.match(text, /EXIT=0/, text);
    assert.match(text, /job typed: .*1 uploaded/, text);
    assert.ok(!text.includes(code), 'the typed code is masked');
    assert.ok(landed('typed'));
  });
});
