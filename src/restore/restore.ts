// Restores remote files into a local directory: one login, files downloaded through
// Transport.get() (temporary name, size check, mtime, rename), so a killed restore leaves no partial
// file under a final name and a rerun finishes the job. Existing local files are never replaced
// unless asked: an identical one (same size and mtime) counts as restored, a different one fails.

import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OtpBackupError } from '../errors.js';
import type { BandwidthLimiter } from '../transport/bwlimit.js';
import { isPartName } from '../transport/local-file.js';
import type { Transport } from '../transport/types.js';
import type { RemoteFile } from './remote-tree.js';

export type ExistingPolicy = 'refuse' | 'overwrite' | 'skip';

export interface RestoreOptions {
  existing: ExistingPolicy;
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Called after each file (restored or not), for a progress line. */
  onFile?: (done: number, bytes: number) => void;
  /** Bytes of the file in flight. */
  onBytes?: (bytes: number) => void;
  /** --bwlimit: the bucket every download takes its bytes from. */
  limiter?: BandwidthLimiter;
}

export interface RestoreResult {
  restored: number;
  bytes: number;
  /** Already there and identical, or --skip-existing. */
  skipped: number;
  failed: { path: string; reason: string }[];
  /** With dryRun: what would be downloaded. */
  plan?: string[];
  durationMs: number;
  /** What stopped the restore early (lost connection after retries, interrupt), if anything. */
  error?: OtpBackupError;
}

type Local = { size: number; mtimeMs: number; kind: 'file' | 'other' } | undefined;

async function localState(p: string): Promise<Local> {
  try {
    const st = await lstat(p);
    return { size: st.size, mtimeMs: st.mtimeMs, kind: st.isFile() ? 'file' : 'other' };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Same size and the same mtime to the second: what a previous, interrupted restore left. */
function identical(l: Local, f: RemoteFile): boolean {
  return (
    l?.kind === 'file' &&
    l.size === f.size &&
    f.mtime !== undefined &&
    Math.floor(l.mtimeMs / 1000) === Math.floor(f.mtime.getTime() / 1000)
  );
}

/**
 * Creates `rel`'s parent directories below `root`, refusing any component that exists as something
 * other than a directory (a symlink there could send the file outside `root`).
 */
async function ensureParents(root: string, rel: string, known: Set<string>): Promise<string> {
  const parts = rel.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    if (known.has(dir)) continue;
    const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st)
      await mkdir(dir).catch((e: NodeJS.ErrnoException) =>
        e.code === 'EEXIST' ? undefined : Promise.reject(e),
      );
    else if (!st.isDirectory() || st.isSymbolicLink())
      throw new OtpBackupError('local', `${dir} exists and is not a directory`, {
        hint: 'move it out of the way, or restore to another directory with --to',
      });
    known.add(dir);
  }
  return join(root, ...parts);
}

/** Removes temporary download names (".NAME.otpbackup-part-…") that a killed restore left in `dir`. */
export async function sweepParts(dir: string): Promise<number> {
  let n = 0;
  const walk = async (d: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.isFile() && isPartName(e.name)) {
        await rm(join(d, e.name), { force: true });
        n++;
      }
    }
  };
  await walk(dir);
  return n;
}

const FATAL = new Set(['auth', 'network', 'trust', 'trust-changed', 'interrupted']);

function reason(e: unknown): string {
  return e instanceof Error ? (e.message.split('\n')[0] ?? 'error') : String(e);
}

/**
 * Downloads `files` below `toDir` (created if missing), up to `transport.concurrency` at once.
 * A failed file is reported and the rest go on; a fault that ends the session (network after
 * retries, auth, interrupt) stops the restore once the files in flight settle, and is returned as
 * `error` beside what was done.
 */
export async function restoreFiles(
  transport: Transport | undefined,
  files: RemoteFile[],
  toDir: string,
  opts: RestoreOptions,
  now: () => number = Date.now,
): Promise<RestoreResult> {
  const started = now();
  const result: RestoreResult = { restored: 0, bytes: 0, skipped: 0, failed: [], durationMs: 0 };
  if (opts.dryRun) result.plan = [];
  await mkdir(toDir, { recursive: true });
  if (!opts.dryRun) await sweepParts(toDir);
  const known = new Set<string>([toDir]);
  let fatal: OtpBackupError | undefined;
  let next = 0;
  let done = 0;
  const one = async (f: RemoteFile): Promise<void> => {
    const local = await ensureParents(toDir, f.rel, known);
    const l = await localState(local);
    if (l && (opts.existing === 'skip' || identical(l, f))) {
      result.skipped++;
      return;
    }
    if (l && (l.kind !== 'file' || opts.existing !== 'overwrite')) {
      result.failed.push({
        path: f.rel,
        reason:
          l.kind !== 'file'
            ? `${local} exists and is not a regular file`
            : `${local} exists and differs (use --overwrite to replace it, or --skip-existing)`,
      });
      return;
    }
    if (opts.dryRun) {
      result.plan?.push(f.rel);
      return;
    }
    if (!transport) throw new OtpBackupError('internal', 'restore without a connection');
    await transport.get(f.path, local, {
      size: f.size,
      ...(f.mtime ? { mtime: f.mtime } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onBytes ? { onProgress: opts.onBytes } : {}),
      ...(opts.limiter ? { limiter: opts.limiter } : {}),
    });
    result.restored++;
    result.bytes += f.size;
  };
  const worker = async () => {
    while (fatal === undefined && next < files.length) {
      if (opts.signal?.aborted) {
        fatal ??= new OtpBackupError('interrupted', 'interrupted; files already restored are complete', {
          hint: 'run the same restore again to fetch the rest',
        });
        return;
      }
      const f = files[next++]!;
      try {
        await one(f);
      } catch (e) {
        if (e instanceof OtpBackupError && FATAL.has(e.code)) fatal ??= e;
        else result.failed.push({ path: f.rel, reason: reason(e) });
      }
      opts.onFile?.(++done, result.bytes);
    }
  };
  const width = opts.dryRun ? 1 : Math.max(1, transport?.concurrency ?? 1);
  await Promise.all(Array.from({ length: width }, worker));
  result.durationMs = now() - started;
  if (fatal) result.error = fatal;
  return result;
}
