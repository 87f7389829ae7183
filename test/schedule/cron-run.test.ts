// The first cron run (#13.3), as the README's tutorial sets it up: an account whose seed is in the
// vault, the vault passphrase exported in the shell, then `schedule print`. Cron would start that
// line with neither the export nor a terminal, so print refuses and says how to fix it; with
// vault.passphraseCommand it gives a line, and that exact line, run under `env -i` with only what
// cron sets (via sh -c, as cron does), backs the job up to the real ProFTPD.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { editConfig } from '../../src/config/save.js';
import { cronCommand } from '../../src/schedule/entries.js';
import { allowReuse, type CliRun, cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-cron-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

/** What cron does with the command part of a crontab line: /bin/sh -c, with only its own variables. */
function asCron(command: string, home: string): Promise<CliRun> {
  const user = userInfo().username;
  return new Promise((resolve) => {
    const child = spawn(
      'env',
      ['-i', `HOME=${home}`, 'PATH=/usr/bin:/bin', `LOGNAME=${user}`, 'SHELL=/bin/sh', 'sh', '-c', command],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

describe('the first cron run (ProFTPD)', { skip: missing }, () => {
  test('vault + exported passphrase is refused with the fix; with passphraseCommand the exact line runs under env -i', async () => {
    const u = server.users.totp;
    const src = join(box.dir, 'docs');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    const add = await cli(
      [
        'account',
        'add',
        'nas',
        '--url',
        `ftp://${u.name}@127.0.0.1:${server.ports.ftp}/cron`,
        '--totp-secret-env',
        'CRON_SEED',
        '--template',
        '${TOTP}',
        '--store',
        'vault',
        '--no-test',
      ],
      { ...box.env, CRON_SEED: u.secret },
    );
    assert.equal(add.status, 0, add.stderr);
    await allowReuse(box.env, 'nas');
    const job = await cli(
      ['job', 'add', 'docs', '--account', 'nas', '--source', src, '--schedule', '* * * * *'],
      box.env,
    );
    assert.equal(job.status, 0, job.stderr);

    // The README's setup: OTPBACKUP_PASSPHRASE is exported in this shell (box.env), not in cron's.
    const refused = await cli(['schedule', 'print'], box.env);
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /started by cron .*job docs would fail: .*needs a passphrase/);
    assert.match(refused.stderr, /hint: set vault\.passphraseCommand/);
    assert.ok(!refused.stderr.includes(box.env.OTPBACKUP_PASSPHRASE!), 'the passphrase is not shown');

    const passFile = join(box.dir, 'vault-pass');
    writeFileSync(passFile, `${box.env.OTPBACKUP_PASSPHRASE}\n`, { mode: 0o600 });
    await editConfig(box.env, undefined, (doc) => {
      doc.setIn(['vault', 'passphraseCommand'], ['cat', passFile]);
    });
    const printed = await cli(['schedule', 'print'], box.env);
    assert.equal(printed.status, 0, printed.stderr);
    const line = printed.stdout.trim();
    assert.match(line, /^\* \* \* \* \* XDG_CONFIG_HOME=\S+ XDG_STATE_HOME=\S+ \S+ \S+ run # otpbackup$/);

    const r = await asCron(cronCommand(line), box.env.HOME!);
    assert.equal(r.status, 0, `cron run failed: ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout + r.stderr, '', 'silent on success, as cron wants (no mail)');
    assert.equal(readFileSync(join(server.home(u.name), 'cron', 'docs', 'a.txt'), 'utf8'), 'alpha\n');
  });
});
