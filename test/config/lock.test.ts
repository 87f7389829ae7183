// acquireLock: one holder at a time across processes, also when several find a stale lock (its
// process dead) at the same moment and race to take it over. Real processes, started together.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../backup/e2e-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'otpbackup-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A PID that belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

// Each child waits for a shared start time, takes the lock, notes enter/leave with hrtime-based
// wall clock, holds it briefly, releases.
const CHILD = `
import { appendFileSync } from 'node:fs';
const [lockPath, logPath, startAt] = process.argv.slice(1);
const { acquireLock } = await import(${JSON.stringify(join(ROOT, 'dist/config/state-file.js'))});
while (Date.now() < Number(startAt)) {}
const lock = await acquireLock(lockPath, { waitMs: 20000 });
const t = () => performance.timeOrigin + performance.now();
appendFileSync(logPath, 'enter ' + process.pid + ' ' + t() + '\\n');
await new Promise((r) => setTimeout(r, 30));
appendFileSync(logPath, 'leave ' + process.pid + ' ' + t() + '\\n');
lock.release();
`;

test('processes racing for a stale lock never hold it at the same time', { timeout: 120_000 }, async () => {
  const rounds = 6;
  const takers = 5;
  for (let round = 0; round < rounds; round++) {
    const lockPath = join(dir, `job-${round}.lock`);
    const logPath = join(dir, `log-${round}`);
    writeFileSync(lockPath, `${deadPid()}\n`); // left by a run that was killed
    writeFileSync(logPath, '');
    const startAt = Date.now() + 800;
    const kids = Array.from({ length: takers }, () =>
      spawn(process.execPath, ['--input-type=module', '-e', CHILD, lockPath, logPath, String(startAt)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    const codes = await Promise.all(
      kids.map(
        (k) =>
          new Promise<string>((resolve) => {
            let err = '';
            k.stderr?.on('data', (d) => {
              err += d;
            });
            k.on('close', (code) => resolve(code === 0 ? '' : `exit ${code}: ${err}`));
          }),
      ),
    );
    assert.deepEqual(codes.filter(Boolean), [], 'every taker got the lock in the end');
    const events = readFileSync(logPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [kind, pid, at] = l.split(' ');
        return { kind, pid, at: Number(at) };
      })
      .sort((a, b) => a.at - b.at);
    assert.equal(events.length, 2 * takers);
    let inside = 0;
    for (const e of events) {
      inside += e.kind === 'enter' ? 1 : -1;
      assert.ok(inside <= 1, `round ${round}: two holders at once: ${JSON.stringify(events)}`);
    }
  }
});
