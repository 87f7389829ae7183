// The per-job manifest: what was confirmed on the server, file by file.
//
// Layout in jobStateDir(env, job):
//   manifest.json     snapshot, replaced atomically (writeFileAtomic) when a run ends; version 2
//                     holds one array per file, [rel, size, mtimeNs, ctimeNs, ino, sha256?]: on
//                     100k files it parses in about half the time of version 1's object per file
//                     (which is still read)
//   manifest.journal  append-only, one JSON line per confirmed upload or delete since the snapshot
//   lock              pid lock: one run of a job at a time
// A confirmed file is appended to the journal at once (write(2): survives a killed process) and
// fsync'd in batches of 256 lines or one second, whichever comes first (survives power loss, less
// that batch: files the next run sends again). A fsync blocks the event loop ~10 ms on this VM, so
// one per 32 files cost a third of a second per 1,000 small files (bench profile, #18). load() replays the journal,
// so a run killed at any moment loses at most the files in flight. compact() folds the journal into
// a new snapshot, so we never rewrite a 100k-entry JSON per file.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { quarantineFile, stateWriteError, writeFileAtomic } from '../config/state-file.js';
import { OtpBackupError } from '../errors.js';
import type { FileMeta } from './types.js';

const VERSION = 2;

/** [rel, size, mtimeNs, ctimeNs, ino] or with the SHA-256 last. */
type Row = [string, number, string, string, string] | [string, number, string, string, string, string];

/** The longest a confirmed file waits for its journal line's fsync (the next append does it). */
const SYNC_EVERY_MS = 1000;

type JournalLine = { op: 'put'; p: string; e: FileMeta } | { op: 'del'; p: string };

export interface ManifestOptions {
  /** Lines written between two fsyncs. */
  syncEvery?: number;
  /** For the quarantine stamp (tests). */
  nowMs?: number;
  /** Dry run: an unreadable file is reported and ignored, not moved. */
  readOnly?: boolean;
}

export class Manifest {
  private fd: number | undefined;
  /** Bytes in the journal file, to cut a line a full disk tore back off. */
  private journalBytes = 0;
  private unsynced = 0;
  private journalLines = 0;
  /** The journal ends in a torn line that could not be cut off: the first append starts a line. */
  private tornTail = false;

  /** When the journal was last fsync'd (performance.now()). */
  private syncedAt = performance.now();

  private constructor(
    readonly dir: string,
    /** Rows as in the snapshot: loading keeps JSON.parse's arrays instead of copying them. */
    private readonly files: Map<string, Row>,
    private readonly syncEvery: number,
    /** Journal lines replayed at load (non-zero after a killed run). */
    readonly replayed: number,
  ) {
    this.journalLines = replayed;
  }

  static snapshotPath(dir: string): string {
    return join(dir, 'manifest.json');
  }
  static journalPath(dir: string): string {
    return join(dir, 'manifest.journal');
  }

  /**
   * Reads the snapshot and replays the journal left by an unfinished run. State that cannot be
   * read does not stop the job (#14.8): the file is moved aside (quarantineFile), `warnings` says
   * so, and — for the snapshot — `rebuild` asks the engine to take files the server already holds
   * (same size and mtime) as backed up instead of sending everything again.
   */
  static async load(dir: string, opts: ManifestOptions = {}): Promise<Manifest> {
    const files = new Map<string, Row>();
    const warnings: string[] = [];
    let rebuild = false;
    const snapPath = Manifest.snapshotPath(dir);
    const snap = await readText(snapPath);
    if (snap !== undefined) {
      let problem: string | undefined;
      try {
        const parsed: unknown = JSON.parse(snap);
        if (!readSnapshot(parsed, files)) problem = 'an unknown format';
      } catch {
        problem = 'not valid JSON';
      }
      if (problem) {
        files.clear();
        rebuild = true;
        warnings.push(
          opts.readOnly
            ? `manifest ${snapPath} is ${problem}: a real run moves it aside and rebuilds it from the server`
            : `manifest ${snapPath} is ${problem}: moved to ${quarantineFile(snapPath, opts.nowMs)}; rebuilt from the server (files of the same size and mtime there are not sent again)`,
        );
      }
    }
    let replayed = 0;
    let tornTail = false;
    const journalPath = Manifest.journalPath(dir);
    const journal = readBytes(journalPath);
    if (journal?.length) {
      // A kill or a full disk may have cut the last line short (#14): read up to the last whole
      // line and cut the rest off, or the next append would be glued to it and lost as well.
      const whole = journal.lastIndexOf(0x0a) + 1;
      const tornBytes = journal.length - whole;
      let bad = 0;
      for (const line of journal.toString('utf8', 0, whole).split('\n')) {
        if (!line) continue;
        let j: unknown;
        try {
          j = JSON.parse(line);
        } catch {
          bad++; // a whole line that is not JSON: damaged (or glued to a torn one by an old version)
          continue;
        }
        if (!isJournalLine(j)) {
          bad++; // valid JSON of another shape: not ours, or damaged
          continue;
        }
        if (j.op === 'put') files.set(j.p, toRow(j.p, j.e));
        else files.delete(j.p);
        replayed++;
      }
      if (bad) {
        // Its good lines are in memory, and in the snapshot this run writes.
        const moved = opts.readOnly ? undefined : quarantineFile(journalPath, opts.nowMs);
        warnings.push(
          `manifest journal ${journalPath} has ${bad} line(s) of an unknown shape: ${moved ? `moved to ${moved}` : 'a real run moves it aside'}; its other ${replayed} line(s) are kept`,
        );
        replayed++; // compact() must write the snapshot even if nothing else changes
      } else if (tornBytes > 0) {
        if (!opts.readOnly) tornTail = !cutJournal(journalPath, whole);
        warnings.push(
          `manifest journal ${journalPath} ended in a line cut short (a killed run or a full disk): ${opts.readOnly ? 'a real run drops' : 'dropped'} its ${tornBytes} byte(s); that file is checked again`,
        );
      }
    }
    const m = new Manifest(dir, files, opts.syncEvery ?? 256, replayed);
    m.warnings = warnings;
    m.rebuild = rebuild;
    m.tornTail = tornTail;
    return m;
  }

  /** One line per state file that could not be read and was moved aside at load. */
  warnings: string[] = [];
  /** The snapshot was unreadable: runJob takes what the server holds into account. */
  rebuild = false;

  get size(): number {
    return this.files.size;
  }
  get(rel: string): FileMeta | undefined {
    const r = this.files.get(rel);
    return r === undefined ? undefined : toMeta(r);
  }
  keys(): IterableIterator<string> {
    return this.files.keys();
  }

  /** Records a file whose upload (rename on the server) was confirmed. */
  record(rel: string, meta: FileMeta): void {
    this.files.set(rel, toRow(rel, meta));
    this.append({ op: 'put', p: rel, e: meta });
  }

  /** Records that `rel` is no longer in the backup (deleted remotely, or dropped). */
  remove(rel: string): void {
    if (!this.files.delete(rel)) return;
    this.append({ op: 'del', p: rel });
  }

  private append(line: JournalLine): void {
    if (this.fd === undefined) {
      // Sync: called right after each confirmation; one write(2) per line keeps it crash-safe.
      try {
        mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.fd = openSync(Manifest.journalPath(this.dir), 'a', 0o600);
        this.journalBytes = fstatSync(this.fd).size;
      } catch (e) {
        const named = stateWriteError(e, Manifest.journalPath(this.dir));
        if (named instanceof OtpBackupError) throw named;
        throw new OtpBackupError(
          'local',
          `cannot write manifest journal in ${this.dir}: ${(e as Error).message}`,
          {
            hint: 'check the permissions and free space of the state directory',
          },
        );
      }
    }
    const text = Buffer.from(`${this.tornTail ? '\n' : ''}${JSON.stringify(line)}\n`);
    try {
      const n = writeSync(this.fd, text);
      if (n !== text.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      this.journalBytes += n;
      this.tornTail = false;
    } catch (e) {
      // A part of the line may have been written: cut it off, or the next line (after space was
      // freed) would be glued to it and lost too.
      try {
        ftruncateSync(this.fd, this.journalBytes);
      } catch {}
      throw stateWriteError(e, Manifest.journalPath(this.dir));
    }
    this.journalLines++;
    if (++this.unsynced >= this.syncEvery || performance.now() - this.syncedAt >= SYNC_EVERY_MS) this.sync();
  }

  /** fsync the journal (called in batches, and before compaction). */
  sync(): void {
    if (this.fd !== undefined && this.unsynced > 0) {
      try {
        fsyncSync(this.fd);
      } catch (e) {
        throw stateWriteError(e, Manifest.journalPath(this.dir));
      }
      this.unsynced = 0;
    }
    this.syncedAt = performance.now();
  }

  /** Folds the journal into a new snapshot (atomic replace), then drops the journal. */
  async compact(): Promise<void> {
    this.sync();
    if (this.journalLines === 0 && this.fd === undefined) return; // nothing changed
    const rows = [...this.files.values()];
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(Manifest.snapshotPath(this.dir), JSON.stringify({ version: VERSION, files: rows }));
    this.closeFd();
    try {
      await unlink(Manifest.journalPath(this.dir));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    this.journalLines = 0;
  }

  /** Closes the journal without compacting (it is replayed at the next load). */
  close(): void {
    this.sync();
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

const isDigits = (v: unknown): v is string => typeof v === 'string' && /^\d+$/.test(v);

function isMeta(m: unknown): m is FileMeta {
  if (typeof m !== 'object' || m === null) return false;
  const e = m as Record<string, unknown>;
  return (
    Number.isSafeInteger(e.size) &&
    (e.size as number) >= 0 &&
    isDigits(e.mtimeNs) &&
    isDigits(e.ctimeNs) &&
    isDigits(e.ino) &&
    (e.sha256 === undefined || typeof e.sha256 === 'string')
  );
}

function isJournalLine(j: unknown): j is JournalLine {
  if (typeof j !== 'object' || j === null) return false;
  const l = j as Record<string, unknown>;
  if (typeof l.p !== 'string') return false;
  return l.op === 'del' || (l.op === 'put' && isMeta(l.e));
}

function isRow(r: unknown): r is Row {
  return (
    Array.isArray(r) &&
    (r.length === 5 || r.length === 6) &&
    typeof r[0] === 'string' &&
    Number.isSafeInteger(r[1]) &&
    r[1] >= 0 &&
    isDigits(r[2]) &&
    isDigits(r[3]) &&
    isDigits(r[4]) &&
    (r[5] === undefined || typeof r[5] === 'string')
  );
}

/** Fills `files` from a parsed snapshot of version 1 or 2; false when it is neither. */
function readSnapshot(parsed: unknown, files: Map<string, Row>): boolean {
  if (typeof parsed !== 'object' || parsed === null) return false;
  const { version, files: f } = parsed as { version?: unknown; files?: unknown };
  if (version === 2 && Array.isArray(f)) {
    for (const r of f) {
      if (!isRow(r)) return false;
      files.set(r[0], r);
    }
    return true;
  }
  if (version === 1 && typeof f === 'object' && f !== null && !Array.isArray(f)) {
    for (const [k, v] of Object.entries(f as Record<string, unknown>)) {
      if (!isMeta(v)) return false;
      files.set(k, toRow(k, v));
    }
    return true;
  }
  return false;
}

function toRow(rel: string, m: FileMeta): Row {
  return m.sha256 === undefined
    ? [rel, m.size, m.mtimeNs, m.ctimeNs, m.ino]
    : [rel, m.size, m.mtimeNs, m.ctimeNs, m.ino, m.sha256];
}

function toMeta(r: Row): FileMeta {
  const m: FileMeta = { size: r[1], mtimeNs: r[2], ctimeNs: r[3], ino: r[4] };
  if (r[5] !== undefined) m.sha256 = r[5];
  return m;
}

/** The journal's bytes (undefined when there is none): bytes, so a torn tail is cut at a byte. */
function readBytes(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OtpBackupError('local', `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'check the permissions of the state directory',
    });
  }
}

/** Cuts the journal back to its last whole line; false when it cannot (then appends start a line). */
function cutJournal(path: string, bytes: number): boolean {
  try {
    truncateSync(path, bytes);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    // Sync: read once before the scan, with nothing else to do meanwhile; fs/promises reads big
    // files in small chunks through the thread pool, several times slower.
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OtpBackupError('local', `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'check the permissions of the state directory',
    });
  }
}
