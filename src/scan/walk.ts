// Walks the job's sources: directory entries with their types (no stat for directories), one
// lstat per file. Never throws for a file or directory it cannot read: that becomes a ScanProblem
// and the walk goes on. Memory: the pending-directory stack and one directory's entries.
import { isUtf8 } from 'node:buffer';
import { type BigIntStats, type Dirent, lstatSync, readdirSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { PathFilter } from './filters.js';
import { decodeRaw, fsPath, showRaw } from './raw-name.js';
import type { ScanProblem } from './types.js';

/** The file system calls the walker makes; tests inject failures through this. */
export interface WalkFs {
  /** Names as raw bytes (Buffer), so names that are not UTF-8 are seen for what they are. */
  readdir(path: string): AnyDirent[] | Promise<AnyDirent[]>;
  lstat(path: string): BigIntStats | Promise<BigIntStats>;
  stat(path: string): BigIntStats | Promise<BigIntStats>;
}

// Synchronous calls, one after another: the scan runs alone (before any upload), and measured on
// 100k files a thread-pool round trip per lstat (fs.promises, even 64 in flight) was several times
// slower than lstatSync and allocated far more. Tests may return promises (to inject failures).
// Paths holding bytes that are not UTF-8 (raw-name.ts) go to the kernel as those bytes.
export const nodeWalkFs: WalkFs = {
  readdir: (p) => readdirSync(fsPath(p), { withFileTypes: true, encoding: 'buffer' }),
  lstat: (p) => lstatSync(fsPath(p), { bigint: true }),
  stat: (p) => statSync(fsPath(p), { bigint: true }),
};

export interface WalkRoot {
  abs: string;
  /** Prefix of every relative path under this root ('' for a single source). */
  rel: string;
}

export interface WalkOptions {
  symlinks: 'skip' | 'follow';
  filter: PathFilter;
  fs?: WalkFs;
}

export interface WalkedFile {
  rel: string;
  abs: string;
  st: BigIntStats;
}

export interface WalkOutcome {
  problems: ScanProblem[];
  /** Relative paths of directories (or roots) that could not be read: their manifest entries are kept. */
  unreadable: string[];
}

export type AnyDirent = Dirent | Dirent<Buffer>;

/**
 * A directory entry's name as text. Bytes that are not UTF-8 (a Latin-1 "r\xe9sum\xe9.txt") are
 * kept as escapes (raw-name.ts): decoding them as U+FFFD would give a name that exists nowhere, its
 * lstat would fail with ENOENT and the file would pass for "vanished" — never backed up (#14.2).
 */
function nameOf(d: AnyDirent): string {
  if (typeof d.name === 'string') return d.name;
  const s = d.name.toString('utf8');
  // Fast path: only a name that decodes to U+FFFD can be invalid (U+FFFD itself is valid UTF-8).
  return s.includes('\ufffd') && !isUtf8(d.name) ? decodeRaw(d.name) : s;
}

// CR/LF/NUL: no server takes them. ".." beside a backslash: a Windows server reads it as a way out
// of the job's directory (transport/remote-path.ts refuses it too, before anything is sent).
const BAD_NAME = /[\r\n\0]|^\.\.\\|\\\.\.$|\\\.\.\\/;

const join2 = (a: string, b: string) => (a === '' ? b : `${a}/${b}`);

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${err.syscall ?? 'access'} failed` : String(err.message ?? e);
}

export async function walk(
  roots: readonly WalkRoot[],
  opts: WalkOptions,
  onFile: (f: WalkedFile) => void | Promise<void>,
): Promise<WalkOutcome> {
  const fs = opts.fs ?? nodeWalkFs;
  const problems: ScanProblem[] = [];
  const unreadable: string[] = [];
  // With symlinks followed, each directory carries the dev:ino of its ancestors: a link back to one
  // of them is a cycle (a second link to an unrelated directory is walked again, like `find -L`).
  type Chain = readonly string[];

  const problem = (path: string, kind: ScanProblem['kind'], reason: string): void => {
    problems.push({ path: showRaw(path), kind, reason });
  };

  /** Handles one non-directory-listing entry: file, symlink, special, or a directory to queue. */
  const visit = async (abs: string, rel: string, st: BigIntStats, chain: Chain): Promise<void> => {
    if (st.isSymbolicLink()) {
      if (opts.symlinks === 'skip')
        return problem(abs, 'symlink', 'symbolic link not followed (symlinks: skip)');
      let target: BigIntStats;
      try {
        target = await fs.stat(abs);
      } catch (e) {
        return problem(abs, 'symlink', `broken symbolic link (${why(e)})`);
      }
      return visit(abs, rel, target, chain);
    }
    if (st.isDirectory()) {
      if (opts.filter.skipDir(rel)) return;
      const key = `${st.dev}:${st.ino}`;
      if (chain.includes(key)) return problem(abs, 'loop', 'symbolic link cycle; not followed again');
      return queue(abs, rel, opts.symlinks === 'follow' ? [...chain, key] : chain);
    }
    if (st.isFile()) {
      if (opts.filter.skipFile(rel)) return;
      return onFile({ rel, abs, st });
    }
    problem(abs, 'special', 'not a regular file (FIFO, socket or device); skipped');
  };

  const dirs: { abs: string; rel: string; chain: Chain }[] = [];
  const queue = (abs: string, rel: string, chain: Chain) => {
    dirs.push({ abs, rel, chain });
  };

  for (const root of roots) {
    let st: BigIntStats;
    try {
      // A source that is a symlink is what the user named: always follow that one.
      st = await fs.stat(root.abs);
    } catch (e) {
      problem(root.abs, 'unreadable', `source cannot be read (${why(e)})`);
      unreadable.push(root.rel);
      continue;
    }
    if (st.isDirectory()) {
      queue(root.abs, root.rel, opts.symlinks === 'follow' ? [`${st.dev}:${st.ino}`] : []);
    } else {
      // A single file source lands under its own name; with several sources rel already is that name.
      await visit(root.abs, root.rel || basename(root.abs), st, []);
    }
  }

  const typeOf = (d: AnyDirent) =>
    d.isDirectory()
      ? 'dir'
      : d.isFile()
        ? 'file'
        : d.isSymbolicLink()
          ? 'link'
          : d.isFIFO() || d.isSocket() || d.isBlockDevice() || d.isCharacterDevice()
            ? 'other'
            : 'unknown';

  const listDir = async (abs: string, rel: string, chain: Chain) => {
    let entries: AnyDirent[];
    try {
      entries = await fs.readdir(abs);
    } catch (e) {
      problem(abs, 'unreadable', `directory cannot be read (${why(e)})`);
      unreadable.push(rel);
      return;
    }
    for (const d of entries) {
      const name = nameOf(d);
      const type = typeOf(d);
      const childAbs = `${abs}/${name}`;
      const childRel = join2(rel, name);
      if (BAD_NAME.test(name)) {
        problem(
          childAbs,
          'bad-name',
          /[\r\n\0]/.test(name)
            ? 'name contains CR, LF or NUL, which no server accepts; not sent'
            : 'name has ".." beside a backslash, a path out of the backup on Windows servers; not sent',
        );
        continue;
      }
      if (type === 'dir') {
        // dirent told us; no stat needed unless we follow symlinks (then we need dev:ino for cycles).
        if (opts.filter.skipDir(childRel)) continue;
        if (opts.symlinks === 'skip') {
          queue(childAbs, childRel, chain);
          continue;
        }
      } else if (type === 'file' && opts.filter.skipFile(childRel)) {
        continue; // excluded: spare the lstat
      } else if (type === 'other') {
        problem(childAbs, 'special', 'not a regular file (FIFO, socket or device); skipped');
        continue;
      } else if (type === 'link' && opts.symlinks === 'skip') {
        problem(childAbs, 'symlink', 'symbolic link not followed (symlinks: skip)');
        continue;
      }
      let st: BigIntStats;
      try {
        const r = fs.lstat(childAbs);
        st = r instanceof Promise ? await r : r;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished since listing
        problem(childAbs, 'unreadable', `cannot stat (${why(e)})`);
        unreadable.push(childRel);
        continue;
      }
      // Fast path for the common case, without a promise per file.
      if (type === 'file' && st.isFile()) {
        const r = onFile({ rel: childRel, abs: childAbs, st });
        if (r instanceof Promise) await r;
      } else await visit(childAbs, childRel, st, chain);
    }
  };

  // Depth first with an explicit stack: no recursion limit, and few pending directories.
  while (dirs.length) {
    const d = dirs.pop()!;
    await listDir(d.abs, d.rel, d.chain);
  }
  return { problems, unreadable };
}
