// The `versions` mode: previous remote copies live under <remoteRoot>/.versions/<rel>.<UTC stamp>,
// and retention prunes them (keep N newest per file and/or those younger than D days).
import { posix } from 'node:path';
import type { Transport } from '../transport/types.js';

export const VERSIONS_DIR = '.versions';

/** 2026-11-23T10:15:00.123Z -> 20261123T101500Z */
export function versionStamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

const STAMP_RE = /^(.*)\.(\d{8}T\d{6}Z)$/;

export function parseStamp(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function versionPath(remoteRoot: string, rel: string, ms: number): string {
  return posix.join(remoteRoot, VERSIONS_DIR, `${rel}.${versionStamp(ms)}`);
}

export interface Retention {
  keep?: number;
  days?: number;
}

/**
 * Which versions of one file to delete. A version survives when it is among the `keep` newest or
 * younger than `days`; with neither set everything is kept.
 */
export function versionsToPrune(stampsMs: number[], retention: Retention, nowMs: number): number[] {
  const { keep, days } = retention;
  if (keep === undefined && days === undefined) return [];
  const sorted = [...stampsMs].sort((a, b) => b - a);
  return sorted.filter((t, i) => {
    const keptByCount = keep !== undefined && i < keep;
    const keptByAge = days !== undefined && nowMs - t < days * 86_400_000;
    return !keptByCount && !keptByAge;
  });
}

/** Walks .versions and removes what retention no longer keeps. Returns the count removed. */
export async function pruneVersions(
  transport: Transport,
  remoteRoot: string,
  retention: Retention,
  nowMs: number,
  onError: (path: string, e: unknown) => void,
  ledger?: VersionsLedger,
): Promise<number> {
  const root = posix.join(remoteRoot, VERSIONS_DIR);
  const kept = new Map<string, number[]>();
  if (!(await transport.stat(root))) {
    ledger?.replace(kept);
    return 0;
  }
  let removed = 0;
  const dirs = [root];
  while (dirs.length) {
    const dir = dirs.pop()!;
    const groups = new Map<string, { ms: number; path: string }[]>();
    for (const e of await transport.list(dir)) {
      if (e.type === 'dir') {
        dirs.push(e.path);
        continue;
      }
      const m = STAMP_RE.exec(e.name);
      const ms = m ? parseStamp(m[2]!) : Number.NaN;
      if (!m || Number.isNaN(ms)) continue; // not ours
      const list = groups.get(m[1]!) ?? [];
      list.push({ ms, path: e.path });
      groups.set(m[1]!, list);
    }
    for (const [name, list] of groups) {
      const rel = posix.relative(root, posix.join(dir, name));
      const stay: number[] = [];
      const drop = new Set(
        versionsToPrune(
          list.map((v) => v.ms),
          retention,
          nowMs,
        ),
      );
      for (const v of list) {
        if (!drop.has(v.ms)) {
          stay.push(v.ms);
          continue;
        }
        try {
          await transport.remove(v.path);
          removed++;
        } catch (e) {
          stay.push(v.ms); // still there: due again next run
          onError(v.path, e);
        }
      }
      if (stay.length) kept.set(rel, stay);
    }
  }
  ledger?.replace(kept);
  return removed;
}

/**
 * What this machine knows of a job's old versions: per file (relative to .versions), the times of
 * the versions retention keeps. It lets a run where nothing changed decide locally whether pruning
 * is due, so that it logs in (and spends a one-time code) only when there is work. `kept` is
 * undefined while unknown (no walk yet, or the remote place changed): then the next run walks once.
 * Written by the engine: each version it makes is added; each prune walk replaces the whole list
 * with what the server holds.
 */
export class VersionsLedger {
  constructor(
    /** Which remote place the list describes (server, user and remote root). */
    readonly place: string,
    public kept: Map<string, number[]> | undefined,
    public changed = false,
  ) {}

  add(rel: string, ms: number): void {
    if (!this.kept) return;
    this.kept.set(rel, [...(this.kept.get(rel) ?? []), ms]);
    this.changed = true;
  }

  /** A version moved back into place (its upload failed): no longer kept. */
  remove(rel: string, ms: number): void {
    const list = this.kept?.get(rel);
    if (!list) return;
    const rest = list.filter((t) => t !== ms);
    if (rest.length) this.kept!.set(rel, rest);
    else this.kept!.delete(rel);
    this.changed = true;
  }

  replace(kept: Map<string, number[]>): void {
    this.kept = kept;
    this.changed = true;
  }

  /** Whether a prune walk would delete something at `nowMs` (true while the list is unknown). */
  pruneDue(retention: Retention, nowMs: number): boolean {
    if (!this.kept) return true;
    for (const stamps of this.kept.values())
      if (versionsToPrune(stamps, retention, nowMs).length > 0) return true;
    return false;
  }
}

interface LedgerFile {
  place: string;
  kept: Record<string, number[]>;
}

/** The ledger stored at `path`, or an unknown one when absent, unreadable or about another place. */
export async function loadLedger(path: string, place: string): Promise<VersionsLedger> {
  const { readJson } = await import('../config/state-file.js');
  let f: LedgerFile | undefined;
  try {
    f = await readJson<LedgerFile>(path);
  } catch {
    f = undefined; // damaged: walk once and write it again
  }
  const valid =
    f?.place === place &&
    typeof f.kept === 'object' &&
    f.kept !== null &&
    Object.values(f.kept).every((v) => Array.isArray(v) && v.every((n) => typeof n === 'number'));
  return new VersionsLedger(place, valid ? new Map(Object.entries(f!.kept)) : undefined);
}

export async function saveLedger(path: string, ledger: VersionsLedger): Promise<void> {
  if (!ledger.changed || !ledger.kept) return;
  const { writeJson } = await import('../config/state-file.js');
  await writeJson(path, { place: ledger.place, kept: Object.fromEntries(ledger.kept) } satisfies LedgerFile);
  ledger.changed = false;
}
