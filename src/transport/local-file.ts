// The local half of a download: bytes go to a temporary name beside the target, get the remote
// mtime, and only then are renamed over the target. Shared by every transport's get(), so a killed
// or failed download never leaves a partial file under a final name. No fsync per file (rclone and
// restic restore do none either; it cost ~1.5 ms a file): a caller that needs the files on disk
// calls flushLocal() once at the end (restore does, before it reports success).
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { OtpBackupError } from '../errors.js';
import { fsPath } from '../scan/raw-name.js';

const PART_MARK = '.otpbackup-part-';

/** ".NAME.otpbackup-part-<hex>" beside `localPath`: hidden, and unmistakable for a user's file. */
export function partPathFor(localPath: string): string {
  return join(
    dirname(localPath),
    `.${basename(localPath).slice(0, 200)}${PART_MARK}${randomBytes(4).toString('hex')}`,
  );
}

/** True for the temporary names partPathFor() makes (a restore skips and sweeps them). */
export function isPartName(name: string): boolean {
  return name.startsWith('.') && /\.otpbackup-part-[0-9a-f]{8}$/.test(name);
}

function localError(what: string, e: unknown): OtpBackupError {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof OtpBackupError) return e;
  const why =
    code === 'ENOSPC'
      ? 'the disk is full'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOENT'
          ? 'its directory does not exist'
          : ((e as Error).message ?? String(e));
  return new OtpBackupError('local', `${what}: ${why}`, {
    cause: e,
    ...(code === 'ENOSPC' ? { hint: 'free some space, or restore to another directory with --to' } : {}),
  });
}

/**
 * Runs `fill` with an open handle on a fresh temporary file beside `localPath`; `fill` resolves with
 * the number of bytes it wrote. When that equals `expected` (if given), its times are set to `mtime`
 * and it is renamed over `localPath`. Any failure removes the temporary file. Not fsync'd: the bytes
 * survive a killed process (they are in the page cache); for a power cut, see flushLocal().
 */
export async function writeLocalAtomically(
  localPath: string,
  fill: (fh: FileHandle, tmpPath: string) => Promise<number>,
  opts: { expected?: number; mtime?: Date; what: string },
): Promise<number> {
  const tmp = partPathFor(localPath);
  let fh: FileHandle | undefined;
  try {
    try {
      // wx: never follow or reuse something already at the temporary name. 0666 less the umask,
      // like any file a program creates (cp, rclone).
      fh = await open(fsPath(tmp), 'wx', 0o666);
    } catch (e) {
      throw localError(`cannot write ${localPath}`, e);
    }
    const n = await fill(fh, tmp);
    if (opts.expected !== undefined && n !== opts.expected) {
      throw new OtpBackupError('remote', `${opts.what}: received ${n} bytes, expected ${opts.expected}`, {
        retryable: true,
        hint: 'the remote file may have changed meanwhile, or the connection was cut; run again',
      });
    }
    try {
      // futimes on the open handle: no second path lookup. Nothing is written after it.
      if (opts.mtime) await fh.utimes(opts.mtime, opts.mtime);
      await fh.close();
      fh = undefined;
      await rename(fsPath(tmp), fsPath(localPath));
    } catch (e) {
      throw localError(`cannot write ${localPath}`, e);
    }
    return n;
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(fsPath(tmp), { force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Makes finished downloads durable, once for a whole restore instead of once per file: fsync on each
 * file (data and the restored mtime; a few in flight, so the file system commits them together),
 * then on each of their directories (the renames). Throws a local error naming the first file that failed.
 */
export async function flushLocal(paths: Iterable<string>, width = 8): Promise<void> {
  const files = [...new Set(paths)];
  const dirs = [...new Set(files.map((p) => dirname(p)))];
  const syncAll = async (list: string[], isDir: boolean): Promise<void> => {
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const p = list[next++]!;
        let fh: FileHandle | undefined;
        try {
          fh = await open(fsPath(p), 'r');
          await fh.sync();
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code ?? '';
          // A file replaced or removed meanwhile by someone else is theirs to keep safe.
          if (code === 'ENOENT') continue;
          // Directories cannot be fsync'd everywhere (Windows, some network file systems).
          if (isDir && ['EISDIR', 'EPERM', 'EACCES', 'EINVAL'].includes(code)) continue;
          throw localError(`cannot flush ${p} to disk`, e);
        } finally {
          await fh?.close().catch(() => {});
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, list.length) }, worker));
  };
  await syncAll(files, false);
  await syncAll(dirs, true);
}

/**
 * A Writable onto an open handle that never closes it (the owner does). fs.WriteStream with
 * autoClose: false never emits 'close', which stream.pipeline waits for: a download would hang.
 */
export function handleWriter(fh: FileHandle, highWaterMark = 1024 * 1024): Writable {
  return new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      fh.write(chunk).then(() => cb(), cb);
    },
    writev(chunks, cb) {
      fh.writev(chunks.map((c) => c.chunk as Buffer)).then(() => cb(), cb);
    },
  });
}
