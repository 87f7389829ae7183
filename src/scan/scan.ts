// The change scanner: walks the sources and compares every file with the manifest on size, mtime
// (ns), inode and ctime (like restic's fileChanged); with `checksum` the SHA-256 decides too.
import type { BigIntStats } from 'node:fs';
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { OtpBackupError } from '../errors.js';
import { makeFilter } from './filters.js';
import { sha256File } from './hash.js';
import { limiter } from './limit.js';
import type { FileMeta, ScannedFile, ScanResult } from './types.js';
import { type WalkFs, type WalkRoot, walk } from './walk.js';

/** The part of the manifest the scanner reads. */
export interface ManifestView {
  get(rel: string): FileMeta | undefined;
  keys(): Iterable<string>;
  /** Number of entries; when absent it is counted from keys(). */
  readonly size?: number;
}

function manifestSize(m: ManifestView): number {
  if (typeof m.size === 'number') return m.size;
  let n = 0;
  for (const _ of m.keys()) n++;
  return n;
}

export interface ScanSpec {
  /** For error messages. */
  name: string;
  sources: readonly string[];
  include?: readonly string[];
  exclude?: readonly string[];
  symlinks: 'skip' | 'follow';
  checksum: boolean;
}

export interface ScanOptions {
  /** Treat every file as changed (`run --force`). */
  all?: boolean;
  fs?: WalkFs;
  /** Base for relative source paths. */
  cwd?: string;
  hash?: (path: string) => Promise<string>;
}

export function metaOf(st: BigIntStats): FileMeta {
  return {
    size: Number(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
    ino: String(st.ino),
  };
}

export function sameMeta(a: FileMeta, b: FileMeta): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino;
}

/**
 * Where each source lands below the job's remote root: a single source's contents go directly
 * there; with several sources each goes under its base name (which must then differ).
 */
export function sourceRoots(spec: ScanSpec, cwd = process.cwd()): WalkRoot[] {
  if (spec.sources.length === 1) return [{ abs: resolve(cwd, spec.sources[0]!), rel: '' }];
  const seen = new Map<string, string>();
  return spec.sources.map((s) => {
    const abs = resolve(cwd, s);
    const rel = basename(abs);
    const other = seen.get(rel);
    if (other !== undefined) {
      throw new OtpBackupError(
        'config',
        `jobs.${spec.name}.sources: "${other}" and "${s}" share the name "${rel}"`,
        {
          hint: 'with several sources each is stored under its base name; give them different names',
        },
      );
    }
    seen.set(rel, s);
    return { abs, rel };
  });
}

export async function scan(
  spec: ScanSpec,
  manifest: ManifestView,
  opts: ScanOptions = {},
): Promise<ScanResult> {
  const roots = sourceRoots(spec, opts.cwd);
  const filter = makeFilter(spec.include, spec.exclude);
  const hash = opts.hash ?? sha256File;
  const hashLimit = limiter(4);
  const out: ScanResult = {
    added: [],
    changed: [],
    touched: [],
    deleted: [],
    unchanged: 0,
    files: 0,
    bytes: 0,
    problems: [],
  };
  // Paths seen, to find the manifest entries whose file is gone. With symlinks followed the same
  // path can be reached twice, so a Set dedupes as we go; otherwise each path comes once, and
  // when every manifest entry was seen (the no-op run) no Set of 100k paths is built at all.
  const follow = spec.symlinks === 'follow';
  const seen = new Set<string>();
  const seenList: string[] = [];
  let inManifest = 0;

  const hashing: Promise<void>[] = [];
  const onFile = ({ rel, abs, st }: { rel: string; abs: string; st: BigIntStats }) => {
    if (follow) {
      if (seen.has(rel)) return; // followed symlink reaching the same path twice
      seen.add(rel);
    } else seenList.push(rel);
    const meta = metaOf(st);
    out.files++;
    out.bytes += meta.size;
    const old = manifest.get(rel);
    if (old) inManifest++;
    if (!spec.checksum) {
      if (!old) out.added.push({ rel, abs, meta });
      else if (opts.all || !sameMeta(old, meta)) out.changed.push({ rel, abs, meta });
      else out.unchanged++;
      return;
    }
    // Hash in the background (a few at once) while the walk goes on.
    const file: ScannedFile = { rel, abs, meta };
    hashing.push(hashLimit(() => compareByHash(abs, file, old)));
  };

  const compareByHash = async (abs: string, file: ScannedFile, old: FileMeta | undefined) => {
    const meta = file.meta;
    try {
      meta.sha256 = await hash(abs);
    } catch (e) {
      // Stays in `seen`: its manifest entry is kept, since we do not know it is gone.
      out.problems.push({
        path: abs,
        kind: 'unreadable',
        reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`,
      });
      return;
    }
    if (!old) out.added.push(file);
    else if (opts.all || old.size !== meta.size || (old.sha256 !== undefined && old.sha256 !== meta.sha256)) {
      out.changed.push(file);
    } else if (sameMeta(old, meta) && old.sha256 === meta.sha256) out.unchanged++;
    else out.touched.push(file);
  };

  const { problems, unreadable } = await walk(
    roots,
    { symlinks: spec.symlinks, filter, fs: opts.fs },
    onFile,
  );
  await Promise.all(hashing);
  out.problems.push(...problems);
  // Entries under a directory we could not read are not deleted: an unmounted disk must not
  // empty the backup.
  const keep = (rel: string) => unreadable.some((u) => u === '' || rel === u || rel.startsWith(`${u}/`));
  if (follow || inManifest !== manifestSize(manifest)) {
    const seenSet = follow ? seen : new Set(seenList);
    for (const rel of manifest.keys()) {
      if (!seenSet.has(rel) && !keep(rel)) out.deleted.push(rel);
    }
  }
  // Deterministic order: easier to read plans and to test.
  const byRel = (a: ScannedFile, b: ScannedFile) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0);
  out.added.sort(byRel);
  out.changed.sort(byRel);
  out.touched.sort(byRel);
  out.deleted.sort();
  return out;
}

/** The local source path of a manifest entry, from the job's source roots (as the scanner maps them). */
export function sourcePathOf(roots: { abs: string; rel: string }[]): (rel: string) => string | undefined {
  // A source that is a single file is its own entry, under its name (walk.ts), not a directory.
  const files = new Set(
    roots.filter((r) => {
      try {
        return statSync(r.abs).isFile();
      } catch {
        return false;
      }
    }),
  );
  return (rel) => {
    for (const r of roots) {
      if (files.has(r)) {
        if (rel === (r.rel || basename(r.abs))) return r.abs;
        continue;
      }
      if (r.rel === '') return join(r.abs, ...rel.split('/'));
      if (rel.startsWith(`${r.rel}/`)) return join(r.abs, ...rel.slice(r.rel.length + 1).split('/'));
    }
    return undefined;
  };
}
