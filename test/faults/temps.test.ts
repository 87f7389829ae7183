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

let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-faults-temps-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
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
});
