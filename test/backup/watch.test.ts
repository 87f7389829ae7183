// `otpbackup watch` end to end: the built CLI watches a job against the real ProFTPD (FTP, TOTP).
// Files created and modified land on the server's disk, excluded ones do not, the whole session
// logs in once, and SIGTERM ends it with exit 0 and everything recorded in the manifest.
// Skipped locally when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { editConfig, saveJob } from '../../src/config/save.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { accountFixture } from '../support/accounts.js';
import { requireTool } from '../support/require.js';
import { cli, readTree, type Sandbox, sandbox, start } from './e2e-helpers.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-watch-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

/** Successful FTP logins so far, from ProFTPD's system log. */
function logins(): number {
  const log = readFileSync(join(server.dir, 'log', 'system.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('Login successful')).length;
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('watch uploads changes over one login and stops cleanly on SIGTERM', { skip: missing }, async () => {
  const u = server.users.totp;
  await accountFixture(box, server, 'w', 'ftp', { reuse: true });
  // One control connection: this counts the watch's own logins (one session for every batch); with
  // reuse allowed the FTP pool would add up to 3 more sessions on the same code (test/transport/ftp-pool).
  await editConfig(box.env, undefined, (doc) => {
    doc.setIn(['accounts', 'w', 'connections'], 1);
  });
  const src = join(box.dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'first\n');
  await saveJob(box.env, undefined, {
    name: 'w',
    account: 'w',
    sources: [src],
    exclude: ['*.log'],
    remoteDir: 'watched',
    schedule: '0 3 * * *',
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
  });
  const remote = join(server.home(u.name), 'watched');
  const before = logins();

  const w = start(['watch', '--job', 'w', '--quiet-ms', '300'], box.env);
  try {
    const remoteText = (rel: string) =>
      existsSync(remote) ? readTree(remote).get(rel)?.toString() : undefined;
    await until('the catch-up run', () => remoteText('a.txt') === 'first\n');

    writeFileSync(join(src, 'a.txt'), 'second\n');
    writeFileSync(join(src, 'sub/b.txt'), 'bravo\n');
    writeFileSync(join(src, 'skip.log'), 'excluded\n');
    await until(
      'the changes',
      () => remoteText('a.txt') === 'second\n' && remoteText('sub/b.txt') === 'bravo\n',
    );
    await sleep(200);
    writeFileSync(join(src, 'sub/c.txt'), 'charlie\n');
    await until('a later change', () => remoteText('sub/c.txt') === 'charlie\n');

    assert.equal(readTree(remote).has('skip.log'), false, 'excluded file not uploaded');
    assert.equal(logins() - before, 1, 'one login for the whole session');
  } finally {
    w.child.kill('SIGTERM');
  }
  const r = await w.done;
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(u.secret) && !r.stderr.includes(u.secret), 'no secret in the output');

  // Everything sent was recorded: a run now has nothing to upload.
  const again = await cli(['run', '--job', 'w', '--json'], box.env);
  assert.equal(again.status, 0, again.stderr);
  const job = JSON.parse(again.stdout).jobs[0];
  assert.equal(job.files, 0);
  assert.equal(job.unchanged, 3);
});

test('watch --json prints a line per batch (jobs as in run --json) and a summary on exit', {
  skip: missing,
}, async () => {
  // Uses account "w" from the test above.
  const src = join(box.dir, 'src-json');
  await mkdir(src, { recursive: true });
  writeFileSync(join(src, 'one.txt'), 'one\n');
  await saveJob(box.env, undefined, {
    name: 'wj',
    account: 'w',
    sources: [src],
    remoteDir: 'watched-json',
    schedule: '0 3 * * *',
    symlinks: 'skip',
    mode: 'mirror',
    delete: false,
    checksum: false,
  });
  const remote = join(server.home(server.users.totp.name), 'watched-json');
  const has = (rel: string) => existsSync(remote) && readTree(remote).has(rel);
  const w = start(['watch', '--job', 'wj', '--quiet-ms', '300', '--json'], box.env);
  try {
    await until('the catch-up run', () => has('one.txt'));
    await sleep(300);
    writeFileSync(join(src, 'two.txt'), 'two\n');
    await until('the change', () => has('two.txt'));
    await sleep(500);
  } finally {
    w.child.kill('SIGTERM');
  }
  const r = await w.done;
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const batches = lines.filter((l) => 'batch' in l);
  assert.ok(batches.length >= 2, r.stdout);
  for (const b of batches) {
    assert.equal(b.exitCode, 0);
    assert.equal(b.jobs[0].job, 'wj');
    assert.equal(b.jobs[0].outcome, 'ok');
    for (const k of ['files', 'bytes', 'deleted', 'unchanged', 'durationMs'])
      assert.equal(typeof b.jobs[0][k], 'number');
    assert.ok(Array.isArray(b.jobs[0].failed));
  }
  assert.equal(batches[0].jobs[0].files, 1, 'catch-up run: one.txt');
  assert.equal(
    batches.reduce((n, b) => n + b.jobs[0].files, 0),
    2,
    'two files in all',
  );
  const last = lines.at(-1);
  assert.deepEqual(
    { exit: last.exit, batches: last.batches, files: last.files, failed: last.failed },
    { exit: 0, batches: batches.length, files: 2, failed: 0 },
  );
  assert.ok(!r.stdout.includes(server.users.totp.secret));
});
