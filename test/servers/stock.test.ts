// The stock-daemon harnesses themselves (sshd.ts, vsftpd.ts): they make real local accounts and
// /etc/pam.d files on a shared machine, so what they leave behind matters. stop() with a session
// open ends every process and removes users, PAM files and the temp dir; and after a test process
// is killed with SIGKILL mid-run, the next start's sweep removes its orphaned daemons, users, PAM
// files and dirs. Skipped locally without sshd/vsftpd or root; a failure when CI=true.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requireTool } from '../support/require.js';
import { makeSftp, sftpAccount, tempEnv } from '../transport/sftp-helpers.js';
import { alive } from './proftpd.js';
import { startSshd } from './sshd.js';
import { descendants, PAM_DIR, PAM_PREFIX, sweepStale } from './system.js';
import { startVsftpd } from './vsftpd.js';

const missing = requireTool('sshd', 'vsftpd');

const ROOT = new URL('../..', import.meta.url).pathname;

function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pamFilesOf(pid: number): string[] {
  return execFileSync('ls', [PAM_DIR], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => n.startsWith(PAM_PREFIX) && n.includes(`-${pid}-`));
}

describe('stock server harnesses', { skip: missing }, () => {
  test('sshd stop() with an SFTP session open: no process, user, PAM file or dir remains', async () => {
    const s = await startSshd();
    const t = tempEnv();
    const u = s.users.reuse;
    const srv = {
      port: s.ports.kbd,
      user: u.name,
      password: u.password,
      secret: u.secret,
      hostKeyFingerprint: s.sshHostKeyFingerprint,
    };
    const account = sftpAccount(srv, '.', { name: 'harness' });
    account.otp.reuse = 'allow';
    const tr = makeSftp(srv, account, t.env);
    await tr.connect();
    try {
      const procs = [s.pids.otp, s.pids.plain, ...(await descendants(s.pids.otp))];
      // master, the session's privileged monitor, its user process, the shell running sftp-server
      assert.ok(procs.length >= 4, `session processes: ${procs.join(' ')}`);
      assert.equal(pamFilesOf(process.pid).length >= 2, true, 'PAM files exist while it runs');
      await s.stop();
      for (const p of procs) assert.equal(alive(p), false, `process ${p} still running`);
      for (const x of Object.values(s.users)) assert.equal(userExists(x.name), false, `user ${x.name}`);
      assert.equal(existsSync(s.dir), false);
    } finally {
      await tr.close();
      await s.stop();
      t.cleanup();
    }
    // (vsftpd's PAM files are checked in the next test; none of sshd's are left.)
    assert.deepEqual(
      pamFilesOf(process.pid).filter((n) => n.includes('sshd')),
      [],
    );
  });

  test('vsftpd stop() with a session open: no process, user, PAM file or dir remains', async () => {
    const v = await startVsftpd();
    const sock = netConnect({ host: '127.0.0.1', port: v.ports.ftp });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('data', () => resolve());
        sock.once('error', reject);
      });
      const procs = [v.pids.ftp, v.pids.ftps, v.pids.plain, ...(await descendants(v.pids.ftp))];
      assert.ok(procs.length >= 4, 'a session process exists');
      await v.stop();
      for (const p of procs) assert.equal(alive(p), false, `process ${p} still running`);
      for (const x of Object.values(v.users)) assert.equal(userExists(x.name), false, `user ${x.name}`);
      assert.equal(existsSync(v.dir), false);
      assert.deepEqual(pamFilesOf(process.pid), []);
    } finally {
      sock.destroy();
      await v.stop();
    }
  });

  test('after a test process is SIGKILLed, the next sweep removes its daemons, users, PAM files and dirs', async () => {
    // A child process starts both servers, reports what it made, and is killed without a chance to
    // clean up — as a test runner's timeout would.
    const script = `
      import { startSshd } from ${JSON.stringify(join(ROOT, 'test/servers/sshd.ts'))};
      import { startVsftpd } from ${JSON.stringify(join(ROOT, 'test/servers/vsftpd.ts'))};
      const s = await startSshd();
      const v = await startVsftpd();
      process.stdout.write(JSON.stringify({
        pid: process.pid,
        daemons: [s.pids.otp, s.pids.plain, v.pids.ftp, v.pids.ftps, v.pids.plain],
        users: [...Object.values(s.users), ...Object.values(v.users)].map((u) => u.name),
        dirs: [s.dir, v.dir],
      }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const made = await new Promise<{ pid: number; daemons: number[]; users: string[]; dirs: string[] }>(
      (resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) resolve(JSON.parse(buf));
        });
        child.once('exit', (code) => reject(new Error(`child exited with ${code} before reporting`)));
      },
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(made.daemons.every(alive), 'the daemons outlive their killed parent');
    assert.ok(made.users.every(userExists));

    await sweepStale();
    const end = Date.now() + 5000;
    while (made.daemons.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
    for (const p of made.daemons) assert.equal(alive(p), false, `daemon ${p} still running`);
    for (const n of made.users) assert.equal(userExists(n), false, `user ${n} remains`);
    assert.deepEqual(pamFilesOf(made.pid), []);
    for (const d of made.dirs) assert.equal(existsSync(d), false, `${d} remains`);
  });
});
