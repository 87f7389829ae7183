// What a backup holds on the server: every file below a job's remote root (relative paths, size,
// mtime), and the old copies `mode: versions` keeps under .versions/ with the time each one was
// replaced. One listing per directory; our temporary upload names are never part of the tree.
import { posix } from 'node:path';
import { parseStamp, VERSIONS_DIR } from '../backup/versions.js';
import { OtpBackupError } from '../errors.js';
import { isTempName } from '../transport/remote-path.js';
import { canModTime, type RemoteEntry, type Transport } from '../transport/types.js';

export interface RemoteFile {
  /** '/'-separated path relative to the root; every component checked by safeName(). */
  rel: string;
  /** Path to hand to the transport. */
  path: string;
  size: number;
  mtime?: Date;
}

export interface RemoteVersion extends RemoteFile {
  /** When this copy stopped being the current one (from its name's UTC stamp), ms. */
  replacedAt: number;
}

export interface RemoteTree {
  files: RemoteFile[];
  versions: RemoteVersion[];
  /** Entries that are neither files nor directories (links, devices), or have unsafe names. */
  skipped: { rel: string; reason: string }[];
}

const STAMP_RE = /^(.*)\.(\d{8}T\d{6}Z)$/;

/**
 * A name a server listed, safe to use as one local path component. A hostile or broken server could
 * list "..", "a/b" or a name with NUL; such a name must never reach the local file system.
 */
export function safeName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\0]/.test(name) && !/^[a-zA-Z]:/.test(name);
}

async function listDir(t: Transport, dir: string): Promise<RemoteEntry[]> {
  return (await t.list(dir)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Walks `root` (which must exist: a missing root is OtpBackupError('remote')). With `versions`,
 * also reads .versions/. `sub` limits the walk to these relative paths (files or directories).
 */
export async function readRemoteTree(
  t: Transport,
  root: string,
  opts: { versions?: boolean; signal?: AbortSignal } = {},
): Promise<RemoteTree> {
  const tree: RemoteTree = { files: [], versions: [], skipped: [] };
  const top = await t.stat(root);
  if (top?.type !== 'dir') {
    throw new OtpBackupError('remote', `${root} is not a directory on the server`, {
      hint: 'check the job or URL: nothing was backed up there yet, or the path is wrong',
    });
  }
  const walk = async (dir: string, prefix: string, inVersions: boolean): Promise<void> => {
    for (const e of await listDir(t, dir)) {
      opts.signal?.throwIfAborted();
      if (e.name === '.' || e.name === '..' || isTempName(e.name)) continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (!safeName(e.name)) {
        tree.skipped.push({ rel, reason: 'the server listed a name that is not safe as a local file name' });
        continue;
      }
      const path = posix.join(dir, e.name);
      if (e.type === 'dir') {
        if (!prefix && e.name === VERSIONS_DIR && !inVersions) {
          if (opts.versions) await walk(path, '', true);
          continue;
        }
        await walk(path, rel, inVersions);
      } else if (e.type === 'file') {
        const f: RemoteFile = { rel, path, size: e.size, ...(e.mtime ? { mtime: e.mtime } : {}) };
        if (!inVersions) {
          tree.files.push(f);
          continue;
        }
        const m = STAMP_RE.exec(rel);
        const at = m ? parseStamp(m[2]!) : Number.NaN;
        if (!m || Number.isNaN(at))
          tree.skipped.push({ rel: `${VERSIONS_DIR}/${rel}`, reason: 'not a version' });
        else tree.versions.push({ ...f, rel: m[1]!, replacedAt: at });
      } else {
        tree.skipped.push({ rel, reason: `a ${e.type}, not a regular file` });
      }
    }
  };
  await walk(root, '', false);
  // Listings without second-precision times (FTP LIST): ask per file, so a restore can set them and
  // a rerun can tell a restored file from a different one.
  if (canModTime(t))
    for (const f of [...tree.files, ...tree.versions])
      if (!f.mtime) {
        const m = await t.modTime(f.path);
        if (m) f.mtime = m;
      }
  return tree;
}

/**
 * The tree as it stood at `atMs`, from the current files and the kept versions. A copy was current
 * from its upload until `replacedAt`, and it was uploaded after its mtime. So for each path
 * the candidates are the versions replaced after `atMs` (earliest first), then the current file,
 * and the first whose mtime is not after `atMs` is the one that was there. A path none fits did
 * not exist then (or its older copies were pruned by retention).
 */
export function treeAt(tree: RemoteTree, atMs: number): RemoteFile[] {
  const byRel = new Map<string, RemoteFile[]>();
  const later = tree.versions.filter((v) => v.replacedAt > atMs).sort((a, b) => a.replacedAt - b.replacedAt);
  for (const v of later) byRel.set(v.rel, [...(byRel.get(v.rel) ?? []), v]);
  for (const f of tree.files) byRel.set(f.rel, [...(byRel.get(f.rel) ?? []), f]);
  const out: RemoteFile[] = [];
  for (const [rel, candidates] of byRel) {
    // Second precision on both sides: stamps and most servers' mtimes have no finer grain.
    const fit = candidates.find(
      (c) => c.mtime !== undefined && Math.floor(c.mtime.getTime() / 1000) * 1000 <= atMs,
    );
    if (fit) out.push({ ...fit, rel });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Files whose rel is one of `paths` or below one of them; `paths` empty: all. Unknown paths are returned. */
export function selectPaths(
  files: RemoteFile[],
  paths: string[],
): { files: RemoteFile[]; unmatched: string[] } {
  if (!paths.length) return { files, unmatched: [] };
  const wanted = paths
    .map((p) => posix.normalize(p).replace(/^\/+|\/+$/g, ''))
    .map((p) => (p === '.' ? '' : p));
  const hit = new Set<string>();
  const out = files.filter((f) =>
    wanted.some((w) => {
      const ok = w === '' || f.rel === w || f.rel.startsWith(`${w}/`);
      if (ok) hit.add(w);
      return ok;
    }),
  );
  return { files: out, unmatched: wanted.filter((w) => !hit.has(w)) };
}
