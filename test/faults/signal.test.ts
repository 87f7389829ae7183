// SIGTERM / SIGINT during a large upload, `otpbackup run` against the real ProFTPD over FTP and SFTP
// (#14.5). The link is slowed by a pacing proxy so the upload would take far longer than the bound:
//  - one SIGTERM stops the transfer in flight within seconds: exit 130, no temp file on the server,
//    nothing recorded for the file, the lock released; a rerun sends the file whole;
//  - on a stalled link (no reply will come), one SIGTERM still ends the run within seconds;
//  - a second SIGINT exits at once.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockPath } from '../../src/backup/run-due.js';
import { jobStateDir } from '../../src/config/paths.js';
import { Manifest } from '../../src/scan/manifest.js';
import { cli, readTree, type Sandbox, sandbox, start, TEMP_MARK } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { addAccount, addJob, proftpdMissing } from './helpers.js';
import { FaultProxy } from './proxy.js';

const missing = proftpdMissing();
const MiB = 1024 * 1024;
/** 96 MiB at 4 MiB/s: ~24 s of upload; every bound below is a fraction of that. 4 MiB/s, not
 *  slower: FTP closes its data connection on abort, and the megabytes already in the socket
 *  buffers reach the server before its reply, at the link's pace. */
const SIZE = 96 * MiB;
const RATE = 4 * MiB;
/** Signal → exit. The grace for a transfer to wind down is 3 s (src/transport/abort.ts). */
const BOUND_MS = 10_000;

let server: ProftpdHandle;
let box: Sandbox;
before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-signal-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

/** Bytes of the temp file(s) in `dir` on the server. */
function tempBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const name of readdirSync(dir))
    if (name.includes(TEMP_MARK)) {
      try {
        n += statSync(join(dir, name)).size;
      } catch {}
    }
  return n;
}

async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

for (const proto of ['ftp', 'sftp'] as const) {
  describe(`signals during a large upload over ${proto.toUpperCase()}`, { skip: missing ?? false }, () => {
    let proxy: FaultProxy;
    let src: string;
    let remote: string;
    const name = `sig-${proto}`;

    before(async () => {
      proxy = await new FaultProxy(proto === 'ftp' ? server.ports.ftp : server.ports.sftpKbd, {
        ftp: proto === 'ftp',
      }).start();
      await addAccount(box, server, name, proto, { port: proxy.port, reuse: true, timeout: 20 });
      src = join(box.dir, name);
      mkdirSync(src, { recursive: true });
      writeFileSync(join(src, 'big.bin'), Buffer.alloc(SIZE, 7));
      await addJob(box, name, name, src, name);
      remote = join(server.home(server.users.totp.name), name);
    });
    after(async () => {
      await proxy?.stop();
    });

    const manifestSize = async () => {
      const m = await Manifest.load(jobStateDir(box.env, name));
      try {
        return m.size;
      } finally {
        m.close();
      }
    };

    test('one SIGTERM stops the transfer within seconds: exit 130, temp dropped, lock released; a rerun completes', async (t) => {
      proxy.rate = RATE;
      const run = start(['run', '--job', name], box.env);
      await until('the upload to start', () => tempBytes(remote) >= MiB);
      const t0 = Date.now();
      run.child.kill('SIGTERM');
      const r = await run.done;
      const took = Date.now() - t0;
      t.diagnostic(`SIGTERM → exit: ${took} ms`);
      assert.equal(r.status, 130, `exit 130 expected, got ${r.status}: ${r.stderr}`);
      assert.ok(took < BOUND_MS, `exited ${took} ms after SIGTERM (the rest of the upload needs ~20 s)`);
      assert.match(r.stderr, /interrupted/);
      assert.equal(tempBytes(remote), 0, 'no temp file left on the server');
      assert.deepEqual(
        existsSync(remote) ? readdirSync(remote) : [],
        [],
        'nothing under the final name either',
      );
      assert.equal(existsSync(lockPath(box.env, name)), false, 'the job lock is released');
      assert.equal(await manifestSize(), 0, 'nothing recorded for the file not sent');

      proxy.rate = 0;
      const again = await cli(['run', '--job', name], box.env);
      assert.equal(again.status, 0, again.stderr);
      assert.ok(readTree(remote).get('big.bin')?.equals(readTree(src).get('big.bin')!), 'sent whole');
    });

    test('on a stalled link one SIGTERM still ends the run within seconds; a second SIGINT exits at once', async (t) => {
      writeFileSync(join(src, 'big.bin'), Buffer.alloc(SIZE, 8)); // changed: sent again
      // Stalled (nothing forwarded either way) once 2 MiB have gone by: no WRITE is answered, no
      // data drains, so only cutting the connection ends the transfer.
      proxy.rate = 0;
      proxy.resetCount();
      proxy.arm({ kind: 'stall', afterBytes: 2 * MiB, stallMs: 120_000 });
      const run = start(['run', '--job', name], box.env);
      await until('the link to stall', () => proxy.fired.length === 1);
      assert.equal(proxy.fired[0]?.on, proto === 'ftp' ? 'data' : 'conn', 'stalled mid-transfer');
      const t0 = Date.now();
      run.child.kill('SIGTERM');
      const r = await run.done;
      const took = Date.now() - t0;
      t.diagnostic(`stalled link, SIGTERM → exit: ${took} ms`);
      assert.equal(r.status, 130, `exit 130 expected, got ${r.status}: ${r.stderr}`);
      assert.ok(took < BOUND_MS, `exited ${took} ms after SIGTERM on a stalled link`);
      assert.equal(existsSync(lockPath(box.env, name)), false, 'the job lock is released');

      proxy.resetCount();
      proxy.arm({ kind: 'stall', afterBytes: 2 * MiB, stallMs: 120_000 });
      const run2 = start(['run', '--job', name], box.env);
      await until('the link to stall again', () => proxy.fired.length === 2);
      run2.child.kill('SIGINT');
      await sleep(200);
      const t1 = Date.now();
      run2.child.kill('SIGINT');
      const r2 = await run2.done;
      const took2 = Date.now() - t1;
      t.diagnostic(`second SIGINT → exit: ${took2} ms`);
      assert.equal(r2.status, 130, `exit 130 expected, got ${r2.status}: ${r2.stderr}`);
      // The first signal's grace (3 s) is not waited for.
      assert.ok(took2 < 2000, `exited ${took2} ms after the second SIGINT`);
      assert.equal(existsSync(lockPath(box.env, name)), false, 'the job lock is released on exit');
    });
  });
}
