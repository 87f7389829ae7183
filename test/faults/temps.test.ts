// Temporary upload files (issue #14 items 3 and 7) against the real ProFTPD, over FTP and SFTP.
//
// Item 3: a source file whose name looks like an otpbackup temp name (a tree that is itself a backup
// target) is uploaded, kept, and not sent again: the stale-temp sweep never deletes it.
// Item 7: `otpbackup run` is killed with SIGKILL N times while a temp file is being written, then run
// once to the end: no temp file is left on the server (the temp journal names them; the next run
// that logs in removes exactly those, in any directory).
//
// Knobs: FAULT_SCALE=full → 40 kills per protocol; default → 10. FAULT_SEED=<n> replays the delays.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TempJournal } from '../../src/backup/temp-journal.js';
import { jobStateDir } from '../../src/config/paths.js';
import { cli, readTree, type Sandbox, sandbox, start, TEMP_MARK } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { addAccount, addJob, type Proto, proftpdMissing } from './helpers.js';
import { faultSeed, prng, scaled } from './scale.js';

const missing = proftpdMissing();
const SEED = faultSeed();
const KILLS = scaled(10, 40);
const DEBUG_ARGS = process.env.DEBUG_TEMPS ? ['-v', '-v'] : [];
const DEBUG = (s: string) => {
  if (process.env.DEBUG_TEMPS) writeFileSync(process.env.DEBUG_TEMPS, s);
};

let server: ProftpdHandle;
/** One sandbox (config, state) per test: the tests run side by side, and config edits take a lock. */
const boxes: Sandbox[] = [];
function newBox(): Sandbox {
  const b = sandbox('otpbackup-faults-temps-');
  boxes.push(b);
  return b;
}

before(async () => {
  if (missing) return;
  server = await startProftpd();
});
after(async () => {
  await server?.stop();
  for (const b of boxes) b.cleanup();
});

/** Temp files (relative paths, with their sizes) anywhere below dir. */
function tempsBelow(dir: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (d: string, rel: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // not created yet, or removed meanwhile
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else if (e.name.includes(TEMP_MARK)) {
        try {
          out.push({ path: r, size: statSync(join(d, e.name)).size });
        } catch {} // renamed away between readdir and stat
      }
    }
  };
  walk(dir, '');
  return out;
}

describe('temporary upload files', { concurrency: true }, () => {
  for (const proto of ['ftp', 'sftp'] as Proto[]) {
    test(`${proto}: a source file named like a temp file is uploaded, kept and not sent again`, {
      skip: missing,
      timeout: 120_000,
    }, async () => {
      const name = `lookalike${proto}`;
      const box = newBox();
      await addAccount(box, server, name, proto, { reuse: true });
      const src = join(box.dir, `src-${name}`);
      mkdirSync(join(src, 'sub'), { recursive: true });
      // Names of the shape otpbackup used for its temp files, with a creation time far in the past.
      const lookalikes = ['.x.otpbackup-tmp-0-00000000', 'sub/.y.otpbackup-tmp-1-0000abcd'];
      for (const rel of lookalikes) writeFileSync(join(src, rel), `user data of ${rel}\n`);
      writeFileSync(join(src, 'plain.txt'), 'plain\n');
      await addJob(box, name, name, src, name);
      const remote = join(server.home(server.users.totp.name), name);

      const r1 = await cli(['run', '--job', name, '--json'], box.env);
      assert.equal(r1.status, 0, r1.stderr);
      assert.equal(JSON.parse(r1.stdout).jobs[0].files, 3);
      const want = readTree(src);
      const check = (when: string) => {
        const got = readTree(remote);
        for (const [k, v] of want) assert.ok(got.get(k)?.equals(v), `${when}: ${k} is on the server`);
      };
      check('after the first run');

      // The same names again in a later run (the sweep runs in directories that got an upload), and
      // one with this job's own tag, as a copy of its own target would hold: in the manifest, so kept.
      const { tag } = await TempJournal.open(jobStateDir(box.env, name), { now: Date.now });
      const own = `sub/.z.otpbackup-tmp-${tag}-0-00000001`;
      writeFileSync(join(src, own), 'user data with our tag\n');
      want.set(own, readFileSync(join(src, own)));
      writeFileSync(join(src, 'plain.txt'), 'plain, changed\n');
      writeFileSync(join(src, 'sub', 'new.txt'), 'new\n');
      want.set('plain.txt', readFileSync(join(src, 'plain.txt')));
      want.set('sub/new.txt', readFileSync(join(src, 'sub', 'new.txt')));
      const r2 = await cli(['run', '--job', name, '--json'], box.env);
      assert.equal(r2.status, 0, r2.stderr);
      assert.equal(JSON.parse(r2.stdout).jobs[0].files, 3, 'only the changed and the new files are sent');
      check('after the second run');

      const r3 = await cli(['run', '--job', name, '--json'], box.env);
      assert.equal(r3.status, 0, r3.stderr);
      assert.equal(JSON.parse(r3.stdout).jobs[0].files, 0, 'nothing is sent again');
      check('after the third run');
    });

    test(`${proto}: killed ${KILLS} times mid-upload, then one clean run: no temp file left`, {
      skip: missing,
      timeout: 600_000,
    }, async (t) => {
      const seed = SEED + (proto === 'ftp' ? 10 : 11);
      const rng = prng(seed);
      const name = `kills${proto}`;
      const box = newBox();
      await addAccount(box, server, name, proto, { reuse: true });
      const src = join(box.dir, `src-${name}`);
      // Large enough that a kill lands while a temp file is being written; in several directories
      // so that leftovers are spread over directories this run may not upload to.
      const files: string[] = [];
      for (let i = 0; i < 6; i++) {
        const d = join(src, `d${i % 3}`);
        mkdirSync(d, { recursive: true });
        const buf = Buffer.alloc(24 * 1024 * 1024);
        for (let j = 0; j < buf.length; j += 4096) buf[j] = rng.int(0, 255);
        files.push(join(d, `big${i}.bin`));
        writeFileSync(files[i]!, buf);
      }
      await addJob(box, name, name, src, name);
      const remote = join(server.home(server.users.totp.name), name);

      let kills = 0;
      let runs = 0;
      let mostLeft = 0;
      while (kills < KILLS) {
        runs++;
        assert.ok(runs <= KILLS * 3, `seed ${seed}: too many runs ended before a temp file showed up`);
        const old = new Set(tempsBelow(remote).map((x) => x.path));
        const s = start(['run', '--job', name], box.env);
        let exited = false;
        void s.done.then(() => {
          exited = true;
        });
        // Kill once a temp file of this run holds some bytes, after a random extra moment (seeded).
        const extra = rng.int(0, 60);
        let seenAt: number | undefined;
        while (!exited) {
          if (seenAt === undefined && tempsBelow(remote).some((x) => x.size > 0 && !old.has(x.path)))
            seenAt = Date.now();
          if (seenAt !== undefined && Date.now() - seenAt >= extra) {
            s.child.kill('SIGKILL');
            break;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
        const r = await s.done;
        if (r.signal !== 'SIGKILL') {
          assert.equal(r.status, 0, `seed ${seed}: run ${runs} (not killed) failed: ${r.stderr}`);
          // It finished: change every file, so the next run has uploads to kill again.
          for (const p of files) {
            const buf = readFileSync(p);
            buf[0] = (buf[0]! + 1) & 0xff;
            writeFileSync(p, buf);
          }
          continue;
        }
        kills++;
        mostLeft = Math.max(mostLeft, tempsBelow(remote).length);
      }
      const beforeClean = tempsBelow(remote).length;
      const fin = await cli(['run', '--job', name], box.env, 300_000);
      assert.equal(fin.status, 0, `seed ${seed}: ${fin.stderr}`);
      const left = tempsBelow(remote);
      t.diagnostic(
        `${proto}: seed ${seed}, ${kills} kills in ${runs} runs, up to ${mostLeft} temp files on the server between runs, ${beforeClean} before the clean run; temp files left after ${kills} kills: ${left.length}`,
      );
      assert.deepEqual(left, [], `seed ${seed}: temp files left after ${kills} kills`);
      const got = readTree(remote);
      for (const [k, v] of readTree(src)) assert.ok(got.get(k)?.equals(v), `${k}: same bytes on the server`);
    });
  }

  /** Bytes of each completed incoming transfer (ProFTPD's TransferLog) whose path contains `part`. */
  function transfersTo(part: string): number[] {
    let text = '';
    try {
      text = readFileSync(join(server.dir, 'log', 'xfer.log'), 'utf8');
    } catch {}
    const out: number[] = [];
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 18 || f[f.length - 1] !== 'c' || f[f.length - 7] !== 'i') continue;
      if (
        f
          .slice(8, f.length - 9)
          .join(' ')
          .includes(part)
      )
        out.push(Number(f[7]));
    }
    return out;
  }

  /** Starts a run and kills it once a new temp file holds at least `minBytes`; returns that temp. */
  async function killMidUpload(
    box: Sandbox,
    name: string,
    remote: string,
    minBytes: number,
  ): Promise<{ path: string; size: number }> {
    const old = new Set(tempsBelow(remote).map((x) => x.path));
    const s = start(['run', '--job', name], box.env);
    let exited = false;
    void s.done.then(() => {
      exited = true;
    });
    while (!exited) {
      if (tempsBelow(remote).some((x) => x.size >= minBytes && !old.has(x.path))) {
        s.child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const r = await s.done;
    assert.equal(r.signal, 'SIGKILL', `the run ended before it could be killed: ${r.stderr}`);
    const t = tempsBelow(remote).filter((x) => !old.has(x.path));
    assert.equal(t.length, 1, JSON.stringify(t));
    // The server's session notices, closes the file and logs the cut transfer (bounded wait).
    const base = t[0]!.path.split('/').pop()!;
    for (let i = 0; i < 250 && transfersTo(base).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    return tempsBelow(remote).find((x) => x.path === t[0]!.path)!;
  }

  const CASES = {
    resumed: 'is resumed (APPE), not restarted',
    corrupt: 'whose temp bytes differ starts afresh (HASH)',
    refused: 'on a server refusing APPE is sent whole, once',
  } as const;
  for (const [kind, what] of Object.entries(CASES) as [keyof typeof CASES, string][]) {
    const corrupt = kind === 'corrupt';
    test(`ftp: a killed upload of a large file ${what}`, {
      skip: missing,
      timeout: 300_000,
    }, async (t) => {
      const name = `resume${kind}`;
      const box = newBox();
      await addAccount(box, server, name, 'ftp', { reuse: true });
      const src = join(box.dir, `src-${name}`);
      mkdirSync(src, { recursive: true });
      const rng = prng(SEED + 20 + Object.keys(CASES).indexOf(kind));
      const size = 64 * 1024 * 1024;
      const buf = Buffer.alloc(size);
      for (let j = 0; j < size; j += 512) buf[j] = rng.int(0, 255);
      writeFileSync(join(src, 'big.bin'), buf);
      await addJob(box, name, name, src, name);
      const remote = join(server.home(server.users.totp.name), name);

      const left = await killMidUpload(box, name, remote, 4 * 1024 * 1024);
      if (corrupt) {
        // One byte of the kept part differs from the source: size alone would not tell.
        const p = join(remote, left.path);
        const b = readFileSync(p);
        b[1000] = (b[1000]! ^ 0xff) & 0xff;
        writeFileSync(p, b);
      }
      // ProFTPD's default: "451 Append/Restart not permitted".
      if (kind === 'refused') writeFileSync(join(remote, '.ftpaccess'), 'AllowStoreRestart off\n');
      const mine = `/${name}/`;
      const before = transfersTo(mine).length;
      const fin = await cli([...DEBUG_ARGS, 'run', '--job', name], box.env, 300_000);
      assert.equal(fin.status, 0, fin.stderr);
      DEBUG(fin.stdout + fin.stderr);
      assert.ok(readFileSync(join(remote, 'big.bin')).equals(buf), 'same bytes on the server');
      assert.deepEqual(tempsBelow(remote), [], 'no temp file left');
      const sent = transfersTo(mine).slice(before);
      t.diagnostic(
        `ftp: ${left.size} bytes of ${size} on the server at the kill; the next run sent ${sent.join(' + ')}`,
      );
      if (kind !== 'resumed') assert.deepEqual(sent.slice(-1), [size], 'the whole file is sent again');
      else {
        assert.deepEqual(
          transfersTo(left.path.split('/').pop()!).slice(-1),
          [size - left.size],
          'appended to the same temp',
        );
        assert.deepEqual(sent, [size - left.size], 'only the missing bytes are sent');
      }
    });
  }
});
