// Temporary upload names and their cleanup, once for every transport.
//
// An upload streams to ".NAME.otpbackup-tmp-<tag>-<ms base36>-<seq>" in the target directory and is
// renamed over NAME once verified. <tag> is a random 12-hex-digit tag per job (kept in the job's temp
// journal, src/backup/temp-journal.ts): a user file that merely looks like a temp name — a tree that
// is itself a backup target — never carries this job's tag, so no sweep takes it for ours. The
// creation time in the name lets stale ones be aged without trusting the server's listing dates.
//
// Cleanup has two parts, both over the plain Transport interface (list, stat, remove):
//  - removeTemps: the temp paths the journal recorded and never saw renamed or removed (a killed
//    run), in any directory, on the next run that logs in;
//  - sweepStaleTemps: the fallback for lost journal lines (power loss, a full state disk): names
//    with the job's tag older than an hour, in the directories a run uploads to.
// Neither ever removes a path the caller says to keep (the manifest's files).
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Transport } from './types.js';

const TEMP_MARK = '.otpbackup-tmp-';
/** ".NAME.otpbackup-tmp-<tag>-<ms>-<seq>": tag 12 hex digits, ms base 36, seq 8 hex digits. */
const TEMP_RE = /^\.(.*)\.otpbackup-tmp-([0-9a-f]{12})-([0-9a-z]{1,12})-([0-9a-f]{8})$/;
/** Keep temp names within common 255-byte name limits. */
const MAX_BASE_BYTES = 200;

/** Default age after which a temp file is considered left over by a crashed run. */
export const STALE_TEMP_MS = 60 * 60 * 1000;

/** A fresh random temp tag (12 lowercase hex digits). */
export function newTempTag(): string {
  return randomBytes(6).toString('hex');
}

/** Whether `tag` has the shape of a temp tag. */
export function isTempTag(tag: unknown): tag is string {
  return typeof tag === 'string' && /^[0-9a-f]{12}$/.test(tag);
}

/** The tag of temp names made without a job (transport tests, `account test`): one per process. */
const PROCESS_TAG = newTempTag();

// A random start per process, then a counter: unique within a run without a CSPRNG call per file
// (randomBytes per name was a visible share of a many-small-files run). Not a secret.
let seq = randomBytes(4).readUInt32BE(0);
function nextSeq(): string {
  seq = (seq + 1) >>> 0;
  return seq.toString(16).padStart(8, '0');
}

/** Temporary name for uploading `finalPath` in the same directory (so the rename is atomic). */
export function tempPathFor(finalPath: string, nowMs: number, tag: string = PROCESS_TAG): string {
  const final = posix.normalize(finalPath);
  let base = posix.basename(final);
  if (Buffer.byteLength(base) > MAX_BASE_BYTES) {
    // Whole code points up to the byte limit, in one pass (dropping one at a time was quadratic).
    let bytes = 0;
    let cut = '';
    for (const ch of base) {
      bytes += Buffer.byteLength(ch);
      if (bytes > MAX_BASE_BYTES) break;
      cut += ch;
    }
    base = cut;
  }
  const ms = Math.max(0, Math.floor(nowMs)).toString(36);
  return posix.join(posix.dirname(final), `.${base}${TEMP_MARK}${tag}-${ms}-${nextSeq()}`);
}

export interface TempNameInfo {
  tag: string;
  /** Creation time (ms) encoded in the name. */
  createdAt: number;
}

/** What a bare file name says as a temp name of ours, or undefined when it is not one. */
export function parseTempName(name: string): TempNameInfo | undefined {
  const m = TEMP_RE.exec(name);
  if (!m?.[2] || !m[3]) return undefined;
  const t = Number.parseInt(m[3], 36);
  return Number.isFinite(t) ? { tag: m[2], createdAt: t } : undefined;
}

/** Whether `name` (a bare file name) is a temporary upload name (of any job's tag). */
export function isTempName(name: string, tag?: string): boolean {
  const info = parseTempName(name);
  return info !== undefined && (tag === undefined || info.tag === tag);
}

/** Creation time (ms) encoded in a temp name, or undefined when `name` is not one. */
export function tempNameCreatedAt(name: string): number | undefined {
  return parseTempName(name)?.createdAt;
}

/**
 * Where put() takes its temp names from (PutOptions.temps). next() must record the name durably
 * before returning it (the temp journal), so a killed process leaves nothing nobody knows about.
 */
export interface TempNamer {
  /** A fresh temp path for `finalPath`, already recorded. */
  next(finalPath: string): string;
  /** `tmp` no longer exists on the server: it was renamed to its final name, or removed. */
  gone(tmp: string): void;
  /** Every byte of `tmp` below `bytes` was acknowledged by the server (an SFTP upload may resume
   *  from there after a kill). Optional: a namer that does not keep it makes nothing resumable. */
  acked?(tmp: string, bytes: number): void;
}

export interface RemoveTempsOptions {
  /** Only names with this tag are removed (a tampered journal cannot name other files). */
  tag: string;
  /** Paths that must stay whatever their name says (files recorded in the manifest). */
  keep?: (path: string) => boolean;
  /** Errors that end the cleanup (a lost login, an interrupt); others skip the one path. */
  fatal?: (e: unknown) => boolean;
}

/**
 * Removes the recorded temp paths that still exist as files. Resolves with the paths settled (gone,
 * or never ours to remove); a path whose removal failed is left out, so it is tried again next run.
 * A fatal error (lost login, interrupt) is thrown.
 */
export async function removeTemps(
  t: Transport,
  paths: Iterable<string>,
  opts: RemoveTempsOptions,
): Promise<string[]> {
  const settled: string[] = [];
  for (const p of paths) {
    if (!isTempName(posix.basename(p), opts.tag) || opts.keep?.(p)) {
      settled.push(p); // not a name of ours: drop it from the journal, touch nothing
      continue;
    }
    try {
      // One STAT for the common case (renamed before the kill's journal line was written): gone.
      const st = await t.stat(p);
      if (st?.type === 'file') await t.remove(p);
      settled.push(p);
    } catch (e) {
      if (opts.fatal?.(e)) throw e;
    }
  }
  return settled;
}

export interface SweepOptions extends RemoveTempsOptions {
  nowMs: number;
  /** Minimum age by the time in the name; default STALE_TEMP_MS. */
  olderThanMs?: number;
  /** Every temp name of the tag, whatever its age. */
  all?: boolean;
}

/**
 * Removes the temp files with `opts.tag` in `remoteDir` (not recursive) older than `olderThanMs`.
 * Best effort: failures to remove are skipped; a fatal error is thrown. Returns the removed paths.
 */
export async function sweepStaleTemps(
  t: Transport,
  remoteDir: string,
  opts: SweepOptions,
): Promise<string[]> {
  const maxAge = opts.olderThanMs ?? STALE_TEMP_MS;
  const removed: string[] = [];
  for (const e of await t.list(remoteDir)) {
    if (e.type !== 'file' || opts.keep?.(e.path)) continue;
    const info = parseTempName(e.name);
    if (!info || info.tag !== opts.tag) continue;
    if (!opts.all && opts.nowMs - info.createdAt < maxAge) continue;
    try {
      await t.remove(e.path);
      removed.push(e.path);
    } catch (err) {
      if (opts.fatal?.(err)) throw err;
    }
  }
  return removed;
}
