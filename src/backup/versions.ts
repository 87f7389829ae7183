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
): Promise<number> {
  const root = posix.join(remoteRoot, VERSIONS_DIR);
  if (!(await transport.stat(root))) return 0;
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
    for (const list of groups.values()) {
      const drop = new Set(
        versionsToPrune(
          list.map((v) => v.ms),
          retention,
          nowMs,
        ),
      );
      for (const v of list) {
        if (!drop.has(v.ms)) continue;
        try {
          await transport.remove(v.path);
          removed++;
        } catch (e) {
          onError(v.path, e);
        }
      }
    }
  }
  return removed;
}
