// Local state that cannot be read or written (#14.8), against the real ProFTPD over FTP and SFTP:
//   - a garbage manifest.json, or journal lines of the wrong JSON shape, are moved aside with one
//     warning line, and the job goes on: the server's listing (size + mtime) says what is there,
//     so nothing is sent again;
//   - a manifest journal whose last line a kill or a full disk cut short is read up to its last
//     whole line, the torn tail cut off and said once;
//   - a full state disk (a 64 KiB tmpfs, mounted as root) is named — disk full, the path — with
//     exit 1, and leaves no 0-byte temp file; once there is space the next run completes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jobStateDir } from '../../src/config/paths.js';
import { Manifest } from '../../src/scan/manifest.js';
import { type CliRun, cli, readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { required } from '../support/require.js';
import {
  addAccount,
  addJob,
  assertConverged,
  assertOneLineError,
  completedUploads,
  type Proto,
  proftpdMissing,
} from './helpers.js';

const missing = proftpdMissing();
let server: ProftpdHandle;
let box: Sandbox;
before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-faults-state-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

function writeSources(src: string) {
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'sub/b.txt'), 'bravo\n');
  writeFileSync(join(src, 'sub/c.bin'), Buffer.alloc(50_000, 3));
}

interface Summary {
  files: number;
  unchanged: number;
  outcome: string;
  warnings?: string[];
}

async function runJson(env: NodeJS.ProcessEnv, job: string): Promise<{ r: CliRun; j: Summary }> {
  const r = await cli(['run', '--job', job, '--json'], env);
  return { r, j: JSON.parse(r.stdout || '{"jobs":[{}]}').jobs[0] as Summary };
}

/** Files below dir whose name marks them as our temp or lock-pid files, or that are empty. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      // An empty manifest.journal is a valid journal with nothing in it (opened, then the disk was full).
      else if (
        /\.tmp-|^lock\.\d+$/.test(e.name) ||
        (statSync(p).size === 0 && e.name !== 'filler' && e.name !== 'manifest.journal')
      )
        out.push(p);
    }
  };
  walk(dir);
  return out;
}

for (const proto of ['ftp', 'sftp'] as Proto[]) {
  describe(`unreadable state over ${proto} (ProFTPD)`, { skip: missing }, () => {
    const account = `st-${proto}`;
    const job = `state-${proto}`;
    let src: string;
    let remote: string;
    before(async () => {
      src = join(box.dir, `src-${proto}`);
      writeSources(src);
      remote = join(server.home(server.users.totp.name), `state-${proto}`);
      await addAccount(box, server, account, proto, { reuse: true });
      await addJob(box, job, account, src, `state-${proto}`);
      const first = await runJson(box.env, job);
      assert.equal(first.r.status, 0, first.r.stderr);
      assert.equal(first.j.files, 3);
    });

    test('a garbage manifest.json is moved aside with one warning; nothing is sent again', async () => {
      const dir = jobStateDir(box.env, job);
      writeFileSync(Manifest.snapshotPath(dir), '{"version":2,"files":[[garbage');
      writeFileSync(join(src, 'new.txt'), 'added meanwhile\n');
      const sent = completedUploads(server);
      const r = await cli(['run', '--job', job], box.env);
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0] ?? '',
        /^otpbackup: job state-\w+: warning: manifest .*manifest\.json is not valid JSON: moved to .*manifest\.json\.bad-\d{8}T\d{6}Z; rebuilt from the server/,
      );
      assert.equal(
        completedUploads(server) - sent,
        1,
        'only new.txt is sent: the rest is on the server, same size and mtime',
      );
      assert.ok(
        readdirSync(dir).some((n) => /^manifest\.json\.bad-/.test(n)),
        'the bad file is kept',
      );
      const again = await runJson(box.env, job);
      assert.deepEqual(
        [again.r.status, again.j.files, again.j.unchanged, again.j.warnings],
        [0, 0, 4, undefined],
      );
      await assertConverged(box, job, src, remote);
    });

    test('a job state.json that is not valid JSON is moved aside with a warning; the job runs', async () => {
      const path = join(jobStateDir(box.env, job), 'state.json');
      writeFileSync(path, '{"lastRunMs": 17'); // torn
      const r = await cli(['run', '--job', job], box.env);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stderr,
        /^otpbackup: job state-\w+: warning: job state .*state\.json could not be read: moved to .*state\.json\.bad-\d{8}T\d{6}Z/,
      );
      assert.equal(r.stderr.trim().split('\n').length, 1);
      const st = await cli(['status', '--json'], box.env);
      assert.equal(st.status, 0, st.stderr);
    });

    test('journal lines of the wrong JSON shape (null, missing fields) are moved aside; the run goes on', async () => {
      const dir = jobStateDir(box.env, job);
      appendFileSync(Manifest.journalPath(dir), 'null\n{"op":"put","p":"a.txt"}\n');
      writeFileSync(join(src, 'a.txt'), 'alpha, changed\n');
      const { r, j } = await runJson(box.env, job);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      assert.equal(j.warnings?.length, 1, '--json carries the warning');
      assert.match(
        j.warnings?.[0] ?? '',
        /manifest journal .* has 2 line\(s\) of an unknown shape: moved to .*\.bad-/,
      );
      assert.equal(j.files, 1);
      await assertConverged(box, job, src, remote);
    });

    test('a journal whose last line a kill cut short is read up to it, said once; the run goes on', async () => {
      const dir = jobStateDir(box.env, job);
      appendFileSync(Manifest.journalPath(dir), '{"op":"put","p":"sub/b.txt","e":{"size":6,"mtime');
      writeFileSync(join(src, 'a.txt'), 'alpha, changed again\n');
      const { r, j } = await runJson(box.env, job);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /unexpected error/);
      assert.deepEqual(j.warnings?.length, 1, r.stderr);
      assert.match(
        j.warnings?.[0] ?? '',
        /manifest journal .* ended in a line cut short .*: dropped its 48 byte/,
      );
      assert.equal(j.files, 1, 'a.txt only');
      const again = await runJson(box.env, job);
      assert.deepEqual([again.r.status, again.j.files, again.j.warnings], [0, 0, undefined]);
      await assertConverged(box, job, src, remote);
    });
  });
}

describe('a full state disk (64 KiB tmpfs)', { skip: missing }, () => {
  let mnt: string;
  let env: NodeJS.ProcessEnv;
  let mounted = false;
  before(() => {
    mnt = join(box.dir, 'small-state');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt], {
      encoding: 'utf8',
    });
    if (m.status !== 0) {
      required('a tmpfs mount', m.stderr.trim() || `mount exited ${m.status}`); // throws under CI=true
      return;
    }
    mounted = true;
    env = { ...box.env, XDG_STATE_HOME: mnt };
  });
  after(() => {
    if (mounted) spawnSync('umount', [mnt]);
  });

  test('on a full disk: journal appends and atomic writes name the problem and leave no temp file', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    const { writeFileAtomic } = await import('../../src/config/state-file.js');
    const dir = join(mnt, 'api');
    mkdirSync(dir);
    const m = await Manifest.load(dir, { syncEvery: 1 });
    const filler = join(mnt, 'filler');
    writeFileSync(filler, '');
    try {
      for (let chunk = 64 * 1024; chunk >= 1; ) {
        try {
          appendFileSync(filler, Buffer.alloc(chunk));
        } catch {
          chunk = Math.floor(chunk / 2);
        }
      }
      const meta = { size: 1, mtimeNs: '1', ctimeNs: '1', ino: '1' };
      const full = /cannot write state file .*api\/manifest\.journal: the disk is full \(ENOSPC\)/;
      assert.throws(
        () => m.record('a', meta),
        (e: Error & { code?: string }) => e.code === 'local' && full.test(e.message),
      );
      await assert.rejects(
        writeFileAtomic(join(dir, 'x.json'), 'x'.repeat(10_000)),
        /cannot write state file .*api\/x\.json: the disk is full \(ENOSPC\)/,
      );
      assert.deepEqual(leftovers(mnt), []);
    } finally {
      m.close();
      rmSync(filler);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ENOSPC is named with its path, exit 1, no temp file left; with space again the run completes', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    const src = join(box.dir, 'src-full');
    writeSources(src);
    const remote = join(server.home(server.users.totp.name), 'state-full');
    await addAccount(box, server, 'st-full', 'ftp', { reuse: true });
    await addJob(box, 'state-full', 'st-full', src, 'state-full');
    const first = await cli(['run', '--job', 'state-full'], env);
    assert.equal(first.status, 0, first.stderr);

    // Fill the file system to the last byte.
    const filler = join(mnt, 'filler');
    writeFileSync(filler, '');
    for (let chunk = 64 * 1024; chunk >= 1; ) {
      try {
        appendFileSync(filler, Buffer.alloc(chunk));
      } catch {
        chunk = Math.floor(chunk / 2);
      }
    }
    writeFileSync(join(src, 'd.txt'), 'a new file while the state disk is full\n');
    const r = await cli(['run', '--job', 'state-full'], env);
    assert.equal(r.status, 1, r.stderr);
    assertOneLineError(r.stderr);
    assert.doesNotMatch(r.stderr, /unexpected error|report it/);
    assert.match(r.stderr, /cannot write state file .*small-state\/.*: the disk is full \(ENOSPC\)/);
    assert.match(r.stderr, /hint: free space where .*small-state/);
    assert.deepEqual(leftovers(mnt), [], 'no temp or empty file is left in the state directory');

    rmSync(filler);
    const again = await cli(['run', '--job', 'state-full'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(leftovers(mnt), []);
    assert.ok(readTree(remote).has('d.txt'));
    await assertConverged({ ...box, env }, 'state-full', src, remote);
  });
});
