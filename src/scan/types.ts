// Shapes shared by the scanner, the manifest and the backup engine.

/** What we remember about a local file. Nanosecond times and inode numbers as decimal strings (bigint). */
export interface FileMeta {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  /** Hex SHA-256 of the content; only with `checksum: true`. */
  sha256?: string;
}

export interface ScannedFile {
  /** Path relative to the job's remote root, '/'-separated. */
  rel: string;
  /** Absolute local path. */
  abs: string;
  meta: FileMeta;
}

export type ProblemKind =
  | 'unreadable' // could not list or stat (EACCES, EIO, vanished dir, ...)
  | 'symlink' // not followed (policy 'skip') or broken
  | 'special' // FIFO, socket, device: not backed up
  | 'bad-name' // contains CR, LF or NUL: no server takes it
  | 'loop'; // symlink cycle when following

export interface ScanProblem {
  /** Absolute local path. */
  path: string;
  kind: ProblemKind;
  reason: string;
}

/** Problems that mean the backup is incomplete (the others are deliberate skips). */
export function isFailureProblem(p: ScanProblem): boolean {
  return p.kind === 'unreadable' || p.kind === 'bad-name';
}

export interface ScanResult {
  added: ScannedFile[];
  changed: ScannedFile[];
  /** Same content (checksum mode) but new metadata: update the manifest, upload nothing. */
  touched: ScannedFile[];
  /** Relative paths in the manifest that are gone locally. */
  deleted: string[];
  unchanged: number;
  /** Files seen (after filters), and their total size. */
  files: number;
  bytes: number;
  problems: ScanProblem[];
}
