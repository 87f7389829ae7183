// Small JSON state files: written atomically (temp file, fsync, rename) with mode 0600,
// guarded by a pid lock file so two processes never interleave read-modify-write.
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
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

/**
 * A failed write of local state as the user can act on it (#14.8): what went wrong, in words, and
 * the path — not "unexpected error: ENOSPC ... report it". Other errors pass through unchanged.
 */
export function stateWriteError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const what: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is exceeded',
    EROFS: 'the file system is read-only',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EIO: 'an I/O error',
  };
  const why = code ? what[code] : undefined;
  if (!why || e instanceof OtpBackupError) return e;
  return new OtpBackupError('local', `cannot write state file ${path}: ${why} (${code})`, {
    hint:
      code === 'ENOSPC' || code === 'EDQUOT'
        ? `free space where ${dirname(path)} lives (or set XDG_STATE_HOME elsewhere), then run again; what the server confirmed is kept`
        : `check ${dirname(path)} and its permissions, then run again`,
    cause: e,
  });
}

/** Atomic replace: a reader sees the old or the new file, never a mix. No temp file outlives a failure. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let created = false;
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    created = true;
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    // A full disk used to leave a 0-byte temp file per attempt.
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {}
    }
    throw stateWriteError(e, path);
  }
}

/**
 * Moves an unreadable state file aside as PATH.bad-YYYYMMDDTHHMMSSZ (kept for inspection), so the
 * job can go on instead of stopping until someone moves it by hand (#14.8). Returns the new path.
 */
export function quarantineFile(path: string, nowMs = Date.now()): string {
  const stamp = new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let to = `${path}.bad-${stamp}`;
  for (let n = 1; existsSync(to); n++) to = `${path}.bad-${stamp}-${n}`;
  try {
    renameSync(path, to);
  } catch (e) {
    throw stateWriteError(e, path);
  }
  return to;
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
    // Write the PID to a private file, then link it into place: the lock never exists empty, so
    // a concurrent taker cannot read "" and take it over as stale.
    if (linkPidFile(path)) {
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {}
      };
      // A second Ctrl-C exits at once (process.exit): the lock goes with it, not left to the
      // stale-PID check of the next run.
      process.on('exit', release);
      return { release };
    }
    const holder = lockHolder(path);
    if (holder === undefined || (holder !== process.pid && !pidAlive(holder))) {
      removeStaleLock(path);
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

/** Links a file holding our PID to `path`; false when `path` exists. */
function linkPidFile(path: string): boolean {
  const mine = `${path}.${process.pid}`;
  try {
    const fd = openSync(mine, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    try {
      unlinkSync(mine);
    } catch {}
    throw stateWriteError(e, path);
  }
  try {
    linkSync(mine, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw stateWriteError(e, path);
    return false;
  } finally {
    unlinkSync(mine);
  }
}

/** The PID in a lock file; NaN when it holds none; undefined when the file is gone. */
function lockHolder(path: string): number | undefined {
  try {
    return Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {
    return undefined;
  }
}

/**
 * Removes a lock whose process is dead. Takers that judged it stale at the same moment must not
 * each remove "the" lock — the second would remove the first one's fresh, live lock — so removal
 * happens under a second lock (`.takeover`), after checking again that the lock is still stale:
 * under it the lock file cannot change (a live holder is not taken over; a new taker cannot link
 * over an existing file). A `.takeover` left by a taker that died in those microseconds is removed
 * once its process is gone and it is a few seconds old.
 */
function removeStaleLock(path: string): void {
  const takeover = `${path}.takeover`;
  if (!linkPidFile(takeover)) {
    try {
      const holder = lockHolder(takeover);
      const old = Date.now() - statSync(takeover).mtimeMs > 5000;
      if (old && (holder === undefined || Number.isNaN(holder) || !pidAlive(holder))) unlinkSync(takeover);
    } catch {}
    return;
  }
  try {
    const holder = lockHolder(path);
    if (holder !== undefined && (Number.isNaN(holder) || (holder !== process.pid && !pidAlive(holder))))
      unlinkSync(path);
  } finally {
    unlinkSync(takeover);
  }
}
