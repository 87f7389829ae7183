// Small JSON state files: written atomically (temp file, fsync, rename) with mode 0600,
// guarded by a pid lock file so two processes never interleave read-modify-write.
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OtpBackupError } from '../errors.js';
import type { Clock } from '../schedule/clock.js';
import { systemClock } from '../schedule/clock.js';

export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OtpBackupError('local', `cannot read state file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new OtpBackupError('local', `state file ${path} is not valid JSON`, {
      hint: 'it was not written by otpbackup; move it aside and run again',
    });
  }
}

/** Atomic replace: a reader sees the old or the new file, never a mix. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Lock {
  release(): void;
}

/**
 * Takes `path` as a lock file holding our pid. A lock left by a dead process is taken over.
 * With `waitMs` > 0 it polls until then; otherwise it fails at once with a 'locked' error.
 */
export async function acquireLock(
  path: string,
  opts: { waitMs?: number; what?: string; clock?: Clock } = {},
): Promise<Lock> {
  const clock = opts.clock ?? systemClock;
  const deadline = clock.now() + (opts.waitMs ?? 0);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      // Write the PID to a private file, then link it into place: the lock never exists empty, so
      // a concurrent taker cannot read "" and take it over as stale.
      const mine = `${path}.${process.pid}`;
      const fd = openSync(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      try {
        linkSync(mine, path);
      } finally {
        unlinkSync(mine);
      }
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          try {
            if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
          } catch {}
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {}
    if (!Number.isFinite(holder) || (holder !== process.pid && !pidAlive(holder))) {
      // Stale: rename it away first so two takers cannot both delete-and-create.
      const stale = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, stale);
        unlinkSync(stale);
      } catch {}
      continue;
    }
    if (clock.now() >= deadline) {
      throw new OtpBackupError('locked', `${opts.what ?? 'lock'} is held by process ${holder}`, {
        hint: 'another otpbackup is running; wait for it to finish',
      });
    }
    await clock.sleep(50);
  }
}
