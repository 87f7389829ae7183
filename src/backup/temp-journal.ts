// The temp journal of a job: which temporary upload names may exist on the server, so the next run
// removes exactly those (in any directory) instead of waiting an hour for the age-based sweep.
//
// jobStateDir(env, job)/temps.journal, one JSON object per line:
//   {"tag":"<12 hex>"}   first line: the job's random temp tag (src/transport/temp.ts), made once
//   {"t":"<path>","f":"<final>","v":"<version>"}
//                        a temp name, written (write(2)) before the upload to it starts; with the
//                        final path and the source's version (size, mtime, ctime, inode) so that the
//                        next run may resume it when the same version is sent to the same place
//   {"a":"<path>","o":<n>}
//                        every byte of that temp file below n was acknowledged by the server (SFTP,
//                        whose writes complete out of order: where a resumed upload may start)
//   {"d":"<path>"}       that temp name is gone (renamed to its final name, or removed)
// A killed process loses nothing written with write(2); a power loss may lose the last lines (not
// fsync'd per file: the stale-temp sweep is the fallback). "d" lines are written with the next "t"
// line or at the end, not one write each: a lost "d" costs one STAT on the next run, nothing more.
// At the end of a run that used it, the file is rewritten (atomically) to the tag and what is still
// pending. Unreadable lines are skipped: the journal is an aid, never a reason to stop a backup.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/state-file.js';
import { isTempTag, newTempTag, type TempNamer, tempPathFor } from '../transport/temp.js';

export interface TempJournalOptions {
  /** Use this tag instead of the stored one (`upload`: one derived from the target). */
  tag?: string;
  /** Clock for the creation time in temp names. */
  now: () => number;
}

/** What an upload to a temp name was for: the final remote path and the source's version. */
export interface TempFor {
  final?: string;
  version?: string;
  /** Bytes acknowledged as a contiguous prefix (TempNamer.acked), where recorded. */
  acked?: number;
}

/** A killed run's temp file that may be resumed. */
export interface Resumable {
  tmp: string;
  /** See TempFor.acked. */
  acked?: number;
}

/** Key of TempJournal.resumable(). */
export function resumeKey(final: string, version: string): string {
  return `${final}\0${version}`;
}

const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

export class TempJournal implements TempNamer {
  private fd: number | undefined;
  /** Encoded "d" lines not written yet. */
  private buffered = '';
  /** Set when the file must be rewritten at finish (something was added or settled). */
  private dirty: boolean;
  /** A write failed (full disk, permissions): stop writing, the sweep covers what was missed. */
  private failed = false;
  /** The file ends in a line torn by a kill: the first append starts a new line. */
  private tornTail = false;

  private constructor(
    readonly dir: string,
    readonly tag: string,
    private readonly now: () => number,
    /** Temp paths recorded and not known to be gone: earlier runs' leftovers and this run's, with
     *  what the upload to each was for (when recorded). */
    private readonly pending: Map<string, TempFor>,
    needsHeader: boolean,
  ) {
    this.dirty = needsHeader;
  }

  static path(dir: string): string {
    return join(dir, 'temps.journal');
  }

  /** Reads the journal (a missing or unreadable one is empty) and fixes the tag. */
  static async open(dir: string, opts: TempJournalOptions): Promise<TempJournal> {
    let text = '';
    try {
      text = readFileSync(TempJournal.path(dir), 'utf8');
    } catch {}
    let stored: string | undefined;
    const pending = new Map<string, TempFor>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch {
        continue; // torn by a crash mid-write
      }
      if (typeof j !== 'object' || j === null) continue;
      const o = j as {
        tag?: unknown;
        t?: unknown;
        d?: unknown;
        f?: unknown;
        v?: unknown;
        a?: unknown;
        o?: unknown;
      };
      if (isTempTag(o.tag)) stored ??= o.tag;
      else if (typeof o.t === 'string') {
        const f: TempFor =
          typeof o.f === 'string' && typeof o.v === 'string' ? { final: o.f, version: o.v } : {};
        if (f.final && isOffset(o.o)) f.acked = o.o;
        pending.set(o.t, f);
      } else if (typeof o.a === 'string' && isOffset(o.o)) {
        const f = pending.get(o.a);
        if (f?.final && o.o > (f.acked ?? 0)) f.acked = o.o;
      } else if (typeof o.d === 'string') pending.delete(o.d);
    }
    const tag = opts.tag ?? stored ?? newTempTag();
    const j = new TempJournal(dir, tag, opts.now, pending, tag !== stored);
    j.tornTail = text.length > 0 && !text.endsWith('\n');
    // The tag must be on disk before any name made with it reaches the server.
    if (tag !== stored) {
      await j.rewrite().catch(() => {
        j.failed = true; // an unwritable state dir: the manifest reports it; uploads still go on
      });
    }
    return j;
  }

  /** Temp paths that may still exist on the server (recorded, not known to be gone). */
  pendingPaths(): string[] {
    return [...this.pending.keys()];
  }

  /** Pending temps by final path and source version (a killed run's uploads, to resume). */
  resumable(): Map<string, Resumable> {
    const out = new Map<string, Resumable>();
    for (const [tmp, f] of this.pending) {
      if (f.final) out.set(resumeKey(f.final, f.version ?? ''), f.acked ? { tmp, acked: f.acked } : { tmp });
    }
    return out;
  }

  next(finalPath: string, what: TempFor = {}): string {
    const tmp = tempPathFor(finalPath, this.now(), this.tag);
    this.pending.set(tmp, what);
    this.dirty = true;
    this.write(`${JSON.stringify({ t: tmp, ...(what.final ? { f: what.final, v: what.version } : {}) })}\n`);
    return tmp;
  }

  /** A TempNamer for one upload: its names are recorded with the final path and source version. */
  namerFor(final: string, version: string): TempNamer {
    return {
      next: (p) => this.next(p, { final, version }),
      gone: (t) => this.gone(t),
      acked: (t, n) => this.acked(t, n),
    };
  }

  /** Records that every byte of `tmp` below `bytes` is on the server (one write(2), like next()). */
  acked(tmp: string, bytes: number): void {
    const f = this.pending.get(tmp);
    if (!f?.final || bytes <= (f.acked ?? 0)) return;
    f.acked = bytes;
    this.dirty = true;
    this.write(`${JSON.stringify({ a: tmp, o: bytes })}\n`);
  }

  gone(tmp: string): void {
    if (!this.pending.delete(tmp)) return;
    this.dirty = true;
    this.buffered += `${JSON.stringify({ d: tmp })}\n`;
    if (this.buffered.length > 64 * 1024) this.write('');
  }

  /** Marks each of `paths` gone (removed by the cleanup, or not ours to remove). */
  settle(paths: Iterable<string>): void {
    for (const p of paths) this.gone(p);
  }

  /**
   * End of the run: the file is rewritten to the tag and the paths still pending (usually none),
   * when anything changed. Never throws: a journal that cannot be written leaves the sweep to cope.
   */
  async finish(): Promise<void> {
    this.closeFd();
    if (!this.dirty) return;
    await this.rewrite().catch(() => {});
  }

  private async rewrite(): Promise<void> {
    this.closeFd();
    const lines = [JSON.stringify({ tag: this.tag })];
    for (const [t, f] of this.pending)
      lines.push(
        JSON.stringify({
          t,
          ...(f.final ? { f: f.final, v: f.version } : {}),
          ...(f.acked ? { o: f.acked } : {}),
        }),
      );
    await writeFileAtomic(TempJournal.path(this.dir), `${lines.join('\n')}\n`);
    this.buffered = '';
    this.tornTail = false;
    this.dirty = false;
  }

  private write(line: string): void {
    if (this.failed) return;
    let text = this.buffered + line;
    this.buffered = '';
    if (!text) return;
    if (this.tornTail) text = `\n${text}`;
    try {
      // Sync on purpose: the line must be in the file before the upload to the name starts.
      this.fd ??= openSync(TempJournal.path(this.dir), 'a', 0o600);
      writeSync(this.fd, text);
      this.tornTail = false;
    } catch {
      this.failed = true;
      this.closeFd();
    }
  }

  private closeFd(): void {
    if (this.buffered) {
      const b = this.buffered;
      this.buffered = '';
      this.write(b);
    }
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {}
      this.fd = undefined;
    }
  }
}
