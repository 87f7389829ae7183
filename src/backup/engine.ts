// runJob: scan → mkdirp → put (up to transport.concurrency in flight) → record → deletes per mode.
// Depends only on interfaces (Transport, Manifest, Clock, Reporter, a scan function), so tests
// drive it with a local fake transport and a fake clock.

import type { BigIntStats } from 'node:fs';
import { lstat, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Job } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import type { Manifest } from '../scan/manifest.js';
import { type ManifestView, metaOf, type ScanOptions, type ScanSpec, sameMeta, scan } from '../scan/scan.js';
import { type FileMeta, isFailureProblem, type ScannedFile, type ScanResult } from '../scan/types.js';
import type { Clock } from '../schedule/clock.js';
import type { BandwidthLimiter } from '../transport/bwlimit.js';
import { removeTemps, sweepStaleTemps } from '../transport/temp.js';
import type { Transport } from '../transport/types.js';
import { type Reporter, silentReporter } from '../ui/reporter.js';
import { COPY_TRIES, type StableCopy, stableCopy } from './copy-first.js';
import { alreadyOnServer } from './rebuild.js';
import { resumeKey, TempJournal } from './temp-journal.js';
import type { JobResult } from './types.js';
import { parseStamp, pruneVersions, VERSIONS_DIR, type VersionsLedger, versionPath } from './versions.js';

export interface EngineDeps {
  /** Connected transport; may be omitted for a dry run (nothing is sent). */
  transport?: Transport;
  manifest: Manifest;
  clock: Clock;
  reporter?: Reporter;
  /** Absolute remote directory of the job (account remoteDir joined with job remoteDir). */
  remoteRoot: string;
  /** Allow deleting more than half of the backup; also sends every file again unless sendAll says otherwise. */
  force?: boolean;
  /** Send every file, changed or not (default: `force`). `upload --sync --force` only lifts the cap. */
  sendAll?: boolean;
  dryRun?: boolean;
  cwd?: string;
  scan?: (spec: ScanSpec, manifest: ManifestView, opts: ScanOptions) => Promise<ScanResult>;
  /** Stat used to detect a file changing while it is uploaded (injectable for tests); by default
   *  lstat, or stat when the job follows symbolic links (the link's own size is not the file's). */
  statFile?: (path: string) => Promise<BigIntStats>;
  /** Ctrl-C / SIGTERM: transfers in flight are aborted (temp files dropped, nothing recorded for
   *  them); a file whose commit had begun lands and is recorded. No new upload or delete starts. */
  signal?: AbortSignal;
  /** versions mode: the local list of versions kept, updated as versions are made and pruned. */
  versions?: VersionsLedger;
  /** --bwlimit / bwlimit: the bucket every upload of this job takes its bytes from. */
  limiter?: BandwidthLimiter;
  /** Temp tag instead of the one in the job's temp journal (`upload`, whose state is thrown away). */
  tempTag?: string;
}

/** Errors after which further files cannot succeed: stop the job. */
const FATAL = new Set(['auth', 'network', 'trust', 'trust-changed', 'interrupted', 'locked']);

/** Why a file is not recorded when it changed while it was read. */
const CHANGED =
  'changed while being uploaded; the old remote copy is kept and it will be sent again next run';

export function interrupted(): OtpBackupError {
  return new OtpBackupError('interrupted', 'interrupted; files already sent are recorded', {
    hint: 'run again to send the rest',
  });
}

export function isFatal(e: unknown): boolean {
  return e instanceof OtpBackupError && FATAL.has(e.code);
}

function reasonOf(e: unknown): string {
  if (e instanceof Error) return e.message.split('\n')[0] ?? 'error';
  return String(e);
}

/**
 * `rel` below the job's remote root. Scanned paths are always inside it, but deletes come from the
 * manifest, a file on disk: a tampered entry such as "../../x" must never reach remove().
 * The root may be absolute ("/srv/b"), relative to the login directory (".", "site") or "~"-anchored;
 * so `rel` itself is checked (a plain relative path with no "." or ".." part), not a string prefix of
 * the joined path, which a relative root like "." does not have.
 */
export function remoteInside(root: string, rel: string): string {
  const parts = rel.split('/');
  if (rel === '' || rel.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '')) {
    throw new OtpBackupError('local', `manifest entry ${JSON.stringify(rel)} points outside ${root}`, {
      hint: "the job's state was edited or is corrupt: delete it under $XDG_STATE_HOME/otpbackup/ and run again",
    });
  }
  return posix.join(root, rel); // "." + "a" is "a", "~" + "a" is "~/a": the transports resolve both
}

/**
 * The remote root of a job: absolute and "~/…" job paths stand alone, relative ones go below the
 * account's. "." (the login directory) is kept as it is; the transports resolve it after login.
 */
export function jobRemoteRoot(accountRemoteDir: string, jobRemoteDir: string): string {
  const anchored = jobRemoteDir.startsWith('/') || jobRemoteDir === '~' || jobRemoteDir.startsWith('~/');
  const p = posix.normalize(anchored ? jobRemoteDir : posix.join(accountRemoteDir || '.', jobRemoteDir));
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Deepest directories only: mkdirp of a/b/c creates a and a/b too. */
function leafDirs(dirs: Set<string>): string[] {
  const sorted = [...dirs].sort();
  return sorted.filter((d, i) => {
    const next = sorted[i + 1];
    return !next?.startsWith(d === '/' ? '/' : `${d}/`);
  });
}

/** A result with nothing done yet; also what a job that never started reports. */
export function emptyResult(job: string, outcome: JobResult['outcome'], err?: OtpBackupError): JobResult {
  return {
    job,
    outcome,
    files: 0,
    bytes: 0,
    skipped: 0,
    deleted: 0,
    pruned: 0,
    unchanged: 0,
    failed: [],
    durationMs: 0,
    ...(err
      ? { error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } }
      : {}),
  };
}

/** A source version as the temp journal records it: resume only what is byte for byte the same file. */
function versionOf(m: FileMeta): string {
  return `${m.size}:${m.mtimeNs}:${m.ctimeNs}:${m.ino}`;
}

/**
 * Whether `path` (a remote path, absolute or not) may be a file of the backup: some tail of it is a
 * path the manifest records or this run uploads. Checked by tails so it holds however the root was
 * resolved (login directory, absolute path); a temp name of ours is never such a tail by chance.
 */
function backedUp(path: string, manifest: Manifest, uploading: Set<string>): boolean {
  const parts = path.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const rel = parts.slice(i).join('/');
    if (rel && (uploading.has(rel) || manifest.get(rel) !== undefined)) return true;
  }
  return false;
}

export async function runJob(job: Job, deps: EngineDeps): Promise<JobResult> {
  const started = deps.clock.now();
  const reporter = deps.reporter ?? silentReporter;
  const statFile =
    deps.statFile ??
    (job.symlinks === 'follow'
      ? (p: string) => stat(p, { bigint: true })
      : (p: string) => lstat(p, { bigint: true }));
  const result = emptyResult(job.name, 'ok');
  const fail = (path: string, reason: string) => {
    const f = { path, reason };
    result.failed.push(f);
    reporter.fileFailed(job.name, f);
  };

  const scanned = await (deps.scan ?? scan)(job, deps.manifest, {
    all: deps.sendAll ?? deps.force,
    cwd: deps.cwd,
  });
  for (const p of scanned.problems) {
    if (isFailureProblem(p)) fail(p.path, p.reason);
    else {
      result.skipped++;
      reporter.skipped(job.name, { path: p.path, reason: p.reason });
    }
  }
  result.unchanged = scanned.unchanged;
  let uploads = [...scanned.added, ...scanned.changed];
  if (job.mode === 'versions') {
    // The job's remote .versions holds old copies (and retention deletes there): a source file at
    // that path would be mixed in with them, and pruned.
    const clash = (rel: string) => rel === VERSIONS_DIR || rel.startsWith(`${VERSIONS_DIR}/`);
    for (const f of uploads.filter((u) => clash(u.rel)))
      fail(
        f.rel,
        `collides with the directory of old versions (${VERSIONS_DIR}); rename it, or exclude it with --exclude /${VERSIONS_DIR}`,
      );
    uploads = uploads.filter((u) => !clash(u.rel));
  }
  const existed = new Set(scanned.changed.map((f) => f.rel));
  const manifestSize = deps.manifest.size;

  // Mirror deletes are capped: a wrongly mounted source must not wipe the backup.
  let deletes = scanned.deleted;
  let deleteRemote = job.delete;
  if (
    job.mode === 'mirror' &&
    job.delete &&
    !deps.force &&
    deletes.length > 0 &&
    deletes.length * 2 > manifestSize
  ) {
    fail(
      deps.remoteRoot,
      `refusing to delete ${deletes.length} of ${manifestSize} backed-up files (more than half); run with --force if intended`,
    );
    deletes = [];
    deleteRemote = false;
  }

  // The manifest was unreadable and moved aside: what the server already holds is not sent again.
  if (deps.manifest.rebuild && deps.transport && !deps.dryRun && uploads.length) {
    const have = await alreadyOnServer(deps.transport, uploads, (rel) => remoteInside(deps.remoteRoot, rel));
    for (const f of have) deps.manifest.record(f.rel, f.meta);
    result.unchanged += have.size;
    uploads = uploads.filter((f) => !have.has(f));
  }

  reporter.plan({
    job: job.name,
    upload: uploads.length,
    uploadBytes: uploads.reduce((n, f) => n + f.meta.size, 0),
    delete: deleteRemote ? deletes.length : 0,
  });

  if (deps.dryRun) {
    result.plan = { upload: uploads.map((f) => f.rel), delete: deleteRemote ? [...deletes] : [] };
    result.outcome = 'dry-run';
    result.durationMs = deps.clock.now() - started;
    return result;
  }
  const transport = deps.transport;
  if (!transport) throw new OtpBackupError('internal', 'runJob needs a transport unless dryRun is set');

  let fatal: unknown;
  const temps = await TempJournal.open(deps.manifest.dir, {
    ...(deps.tempTag ? { tag: deps.tempTag } : {}),
    now: () => deps.clock.now(),
  });
  const uploading = new Set(uploads.map((f) => f.rel));
  const keep = (p: string) => backedUp(p, deps.manifest, uploading);
  // A killed run's temp file of the same version of a file going to the same place: resumed, not removed.
  const leftovers = transport.canResume ? temps.resumable() : new Map<string, string>();
  const resumeFrom = new Map<string, string>();
  for (const f of uploads) {
    const tmp = leftovers.get(resumeKey(remoteInside(deps.remoteRoot, f.rel), versionOf(f.meta)));
    if (tmp) resumeFrom.set(f.rel, tmp);
  }
  const resuming = new Set(resumeFrom.values());
  /** Removes the temp files the journal names (a killed run's, or this run's failed uploads'). */
  const removeJournalled = async (opts: { spare?: Set<string> } = {}) => {
    if (transport.offline) return; // no login: they wait for the next run that logs in
    const pending = temps.pendingPaths().filter((p) => !opts.spare?.has(p));
    if (pending.length === 0) return;
    temps.settle(await removeTemps(transport, pending, { tag: temps.tag, keep, fatal: isFatal }));
  };

  /** copyFirst: private temp dir of this run's local copies (0700), removed at the end. */
  let copiesDir: Promise<string> | undefined;
  try {
    // Same content, new metadata (checksum mode): nothing to send.
    for (const f of scanned.touched) deps.manifest.record(f.rel, f.meta);

    const remoteOf = (rel: string) => remoteInside(deps.remoteRoot, rel);
    const dirs = new Set<string>([deps.remoteRoot]);
    for (const f of uploads) dirs.add(posix.dirname(remoteOf(f.rel)));
    for (const d of leafDirs(dirs)) await transport.mkdirp(d);
    // Temp files of a killed run, wherever they are: the journal names them.
    await removeJournalled({ spare: resuming });

    const versionDirsMade = new Set<string>();
    /** versions mode: move the current remote copy aside. Returns where it went, if it existed. */
    const moveToVersions = async (rel: string): Promise<string | undefined> => {
      // Stamps have whole seconds: a second change within the same second (watch, quick reruns)
      // takes the next free second rather than replacing the version kept a moment ago.
      let at = deps.clock.now();
      let to = versionPath(deps.remoteRoot, rel, at);
      const dir = posix.dirname(to);
      if (!versionDirsMade.has(dir)) {
        await transport.mkdirp(dir);
        versionDirsMade.add(dir);
      }
      for (let n = 0; n < 60 && (await transport.stat(to)); n++) {
        at += 1000;
        to = versionPath(deps.remoteRoot, rel, at);
      }
      try {
        await transport.rename(remoteOf(rel), to);
        deps.versions?.add(rel, Math.floor(at / 1000) * 1000); // the stamp has whole seconds
        return to;
      } catch (e) {
        if (isFatal(e)) throw e;
        if (!(await transport.stat(remoteOf(rel)))) return undefined; // nothing to keep
        throw e;
      }
    };

    let doneBytes = 0;
    let doneFiles = 0;
    let copies = 0;
    const copyDir = async () => {
      copiesDir ??= mkdtemp(join(tmpdir(), 'otpbackup-copy-'));
      return copiesDir;
    };
    const uploadOne = async (f: ScannedFile) => {
      const remote = remoteOf(f.rel);
      let pre: BigIntStats;
      try {
        pre = await statFile(f.abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          result.skipped++;
          reporter.skipped(job.name, { path: f.rel, reason: 'vanished before upload' });
          return;
        }
        return fail(f.rel, `cannot stat: ${reasonOf(e)}`);
      }
      let meta = metaOf(pre);
      let send = f.abs;
      let copy: StableCopy | undefined;
      if (job.copyFirst) {
        // Upload a local copy made while the file was at rest; the source may change meanwhile.
        try {
          copy = await stableCopy(f.abs, await copyDir(), String(copies++), statFile);
        } catch (e) {
          return fail(f.rel, `cannot copy it first (copyFirst): ${reasonOf(e)}`);
        }
        if (!copy)
          return fail(
            f.rel,
            `changed during each of ${COPY_TRIES} local copies (copyFirst); it will be tried again next run`,
          );
        meta = copy.meta;
        send = copy.path;
      }
      // Changed between scan and upload: send what is there now; its hash (if any) is stale.
      if (sameMeta(meta, f.meta)) meta = { ...meta, ...(f.meta.sha256 ? { sha256: f.meta.sha256 } : {}) };
      try {
        await sendOne(f, remote, send, meta, copy !== undefined);
      } finally {
        if (copy) await rm(copy.path, { force: true });
      }
    };
    const sendOne = async (f: ScannedFile, remote: string, send: string, meta: FileMeta, isCopy: boolean) => {
      let moved: string | undefined;
      const resume = resumeFrom.get(f.rel);

      // Checked again just before the commit, so a file rewritten while it was read (even to the
      // same size) never replaces the good remote copy with a torn one (#14.1).
      let verified = false;
      let changed = false;
      const unchanged = async () => {
        if (isCopy) {
          verified = true; // a private copy, made while the file was at rest
          return;
        }
        let now: BigIntStats | undefined;
        try {
          now = await statFile(f.abs);
        } catch {}
        if (!now || !sameMeta(metaOf(now), meta)) {
          changed = true;
          throw new OtpBackupError('local', CHANGED);
        }
        verified = true;
      };
      try {
        if (job.mode === 'versions' && existed.has(f.rel)) moved = await moveToVersions(f.rel);
        await transport.put(send, remote, {
          size: meta.size,
          mtime: new Date(Number(BigInt(meta.mtimeNs) / 1_000_000n)),
          onProgress: (b) => reporter.progress(job.name, doneBytes + b, doneFiles),
          temps: temps.namerFor(remote, versionOf(meta)),
          ...(resume && versionOf(meta) === versionOf(f.meta) ? { resumeFrom: resume } : {}),

          beforeCommit: unchanged,
          ...(deps.signal ? { signal: deps.signal } : {}),
          ...(deps.limiter ? { limiter: deps.limiter } : {}),
        });
      } catch (e) {
        if (moved) {
          // Put the previous copy back so the file is not missing from its place.
          const back = await transport.rename(moved, remote).then(
            () => true,
            () => false,
          );
          const stamp = /\.(\d{8}T\d{6}Z)$/.exec(moved)?.[1];
          if (back && stamp) deps.versions?.remove(f.rel, parseStamp(stamp));
        }
        if (deps.signal?.aborted && !changed) throw interrupted();
        if (isFatal(e)) throw e;
        // Not recorded: the next run sends it again.
        return fail(f.rel, changed ? CHANGED : reasonOf(e));
      }
      // A transport that does not call beforeCommit: check afterwards (the server may hold a torn
      // copy then, but it is not recorded, so the next run sends it again).
      if (!verified) {
        try {
          await unchanged();
        } catch {
          return fail(f.rel, 'changed while being uploaded; it will be sent again next run');
        }
      }
      deps.manifest.record(f.rel, meta);
      doneBytes += meta.size;
      doneFiles++;
      result.files++;
      result.bytes += meta.size;
      reporter.fileDone(job.name, f.rel, meta.size);
      reporter.progress(job.name, doneBytes, doneFiles);
    };

    // A pool of transport.concurrency workers; a fatal error stops new uploads.
    const queue = uploads.slice();
    const worker = async () => {
      while (queue.length && fatal === undefined && !deps.signal?.aborted) {
        const f = queue.shift()!;
        try {
          await uploadOne(f);
        } catch (e) {
          fatal ??= e;
        }
      }
    };
    const n = Math.max(1, Math.min(transport.concurrency || 1, queue.length));
    await Promise.all(Array.from({ length: n }, worker));
    if (fatal !== undefined) throw fatal;
    if (deps.signal?.aborted) throw interrupted();
    await removeJournalled();
    if (uploads.length) {
      // Fallback for temp names the journal lost (power loss, full state disk): this job's tag,
      // older than an hour, in the directories written to. Best effort.
      for (const d of dirs) {
        await sweepStaleTemps(transport, d, {
          tag: temps.tag,
          nowMs: deps.clock.now(),
          keep,
          fatal: isFatal,
        }).catch((e) => {
          if (isFatal(e)) throw e;
        });
      }
    }

    for (const rel of deletes) {
      if (!deleteRemote) {
        deps.manifest.remove(rel); // forget it; the remote copy stays
        continue;
      }
      try {
        if (job.mode === 'versions') {
          if (await moveToVersions(rel)) result.deleted++;
        } else {
          await transport.remove(remoteOf(rel));
          result.deleted++;
        }
        deps.manifest.remove(rel);
      } catch (e) {
        if (isFatal(e)) throw e;
        if (job.mode === 'mirror' && !(await transport.stat(remoteOf(rel)).catch(() => true))) {
          deps.manifest.remove(rel); // already gone
          continue;
        }
        fail(rel, `cannot delete remote copy: ${reasonOf(e)}`);
      }
    }

    // With a local list of the versions kept, the server is walked only when something is due.
    const retention = job.retention;
    if (
      job.mode === 'versions' &&
      retention &&
      (!deps.versions || deps.versions.pruneDue(retention, deps.clock.now()))
    ) {
      result.pruned = await pruneVersions(
        transport,
        deps.remoteRoot,
        retention,
        deps.clock.now(),
        (p, e) => {
          if (isFatal(e)) throw e;
          fail(posix.relative(deps.remoteRoot, p), `cannot prune old version: ${reasonOf(e)}`);
        },
        deps.versions,
      );
    }
  } catch (e) {
    fatal = e;
  } finally {
    // Whatever happened, what was confirmed is folded into the snapshot.
    await temps.finish();
    await deps.manifest.compact();
    if (copiesDir) await rm(await copiesDir, { recursive: true, force: true }).catch(() => {});
  }
  result.durationMs = deps.clock.now() - started;
  if (fatal !== undefined) {
    const err =
      fatal instanceof OtpBackupError
        ? fatal
        : new OtpBackupError('internal', reasonOf(fatal), { cause: fatal });
    result.outcome = 'failed';
    result.error = { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
    return result;
  }
  result.outcome = result.failed.length ? 'partial' : 'ok';
  return result;
}
