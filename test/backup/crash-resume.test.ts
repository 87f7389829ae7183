// Crash-resume: `otpbackup run` is killed with SIGKILL at random moments while it uploads a ~200-file
// tree to the real ProFTPD (FTP and SFTP), and rerun each time. In the end the server holds the
// sources byte for byte, no file under its final name is partial, and a last run uploads nothing.
// Skipped locally when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { saveJob } from '../../src/config/save.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';
import {
  allowReuse,
  cli,
  makeTree,
  readTree,
  type Sandbox,
  sandbox,
  start,
  TEMP_MARK,
} from './e2e-helpers.js';

const missing = proftpdUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`CI=true but ProFTPD cannot run: ${missing}`);

const KILLS = 6;
let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-crash-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

async function setup(name: string, url: string, extra: string[]): Promise<{ src: string; remote: string }> {
  const u = server.users.totp;
  const add = await cli(
    [
      'account',
      'add',
      name,
      '--url',
      url,
      '--totp-secret-env',
      'S',
      '--store',
      'vault',
      '--no-test',
      ...extra,
    ],
    { ...box.env, S: u.secret, P: u.password },
  );
  assert.equal(add.status, 0, add.stderr);
  await allowReuse(box.env, name);
  const src = join(box.dir, `src-${name}`);
  makeTree(src, 200, 64 * 1024);
  await saveJob(box.env, undefined, {
    name,
    account: name,
    sources: [src],
    remoteDir: `crash-${name}`,
    schedule: '0 3 * * *',
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
  });
  return { src, remote: join(server.home(u.name), `crash-${name}`) };
}

async function crashAndResume(job: string, src: string, remote: string) {
  let interrupted = 0;
  for (let i = 0; i < KILLS; i++) {
    // New content for some files each time, so every run has uploads to be killed in.
    const files = [...readTree(src).keys()];
    for (let k = 0; k < 80; k++) {
      const f = files[Math.floor(Math.random() * files.length)]!;
      writeFileSync(join(src, f), randomBytes(1 + Math.floor(Math.random() * 64 * 1024)));
    }
    const s = start(['run', '--job', job], box.env);
    // Node start-up and login take a few hundred ms; kill somewhere inside the upload.
    const delay = 250 + Math.floor(Math.random() * 600);
    const timer = setTimeout(() => s.child.kill('SIGKILL'), delay);
    const r = await s.done;
    clearTimeout(timer);
    if (r.signal === 'SIGKILL') interrupted++;
    else assert.equal(r.status, 0, `run ${i} (not killed) failed: ${r.stderr}`);
  }
  // Each interrupted run must leave a state the next run completes.
  const fin = await cli(['run', '--job', job], box.env);
  assert.equal(fin.status, 0, fin.stderr);
  const want = readTree(src);
  const got = readTree(remote);
  const finals = [...got.keys()].filter((k) => !k.includes(TEMP_MARK));
  assert.deepEqual(finals.sort(), [...want.keys()].sort(), 'the same file names');
  for (const [k, v] of want) assert.ok(got.get(k)?.equals(v), `${k}: same bytes`);
  const last = await cli(['run', '--job', job, '--json'], box.env);
  assert.equal(last.status, 0, last.stderr);
  assert.equal(JSON.parse(last.stdout).jobs[0].files, 0, 'a last run uploads nothing');
  assert.ok(interrupted >= 1, `at least one run was killed mid-way (${interrupted}/${KILLS})`);
  return { interrupted, leftovers: [...got.keys()].length - finals.length };
}

test('ftp: SIGKILL at random moments, rerun, converges', { skip: missing, timeout: 60_000 }, async (t) => {
  const { src, remote } = await setup(
    'ftpcrash',
    `ftp://${server.users.totp.name}@127.0.0.1:${server.ports.ftp}/`,
    ['--template', '${OTP}'],
  );
  const r = await crashAndResume('ftpcrash', src, remote);
  t.diagnostic(`killed ${r.interrupted}/${KILLS} runs; ${r.leftovers} stale temp file(s) left`);
});

test('sftp: SIGKILL at random moments, rerun, converges', { skip: missing, timeout: 60_000 }, async (t) => {
  const { src, remote } = await setup(
    'sftpcrash',
    `sftp://${server.users.totp.name}@127.0.0.1:${server.ports.sftpKbd}/`,
    ['--password-env', 'P', '--trust-host-key', server.sshHostKeyFingerprint],
  );
  const r = await crashAndResume('sftpcrash', src, remote);
  t.diagnostic(`killed ${r.interrupted}/${KILLS} runs; ${r.leftovers} stale temp file(s) left`);
});
