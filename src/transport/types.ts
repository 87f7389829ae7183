// The Transport seam (DESIGN.md "Seams"). Every implementation passes test/transport/suite.ts.
import type { BandwidthLimiter } from './bwlimit.js';
import type { TempNamer } from './temp.js';

export interface RemoteEntry {
  name: string;
  /** Absolute remote path. */
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  size: number;
  mtime?: Date;
}

export interface PutOptions {
  /** Expected size; put() verifies the uploaded size against it before the rename. */
  size?: number;
  mtime?: Date;
  /**
   * Aborts the transfer: no more data is sent, the temp file is removed and put() rejects. Once the
   * commit (the rename) has begun it completes, so a file either lands whole or not at all.
   */
  signal?: AbortSignal;
  /** Bytes written so far, for progress displays. */
  onProgress?: (bytes: number) => void;
  /**
   * Called once every byte is on the server under the temp name and the size is verified, just
   * before the commit (rename over the final name). A rejection vetoes the commit: the temp file is
   * removed, the old remote copy stays, and put() rejects with that error (never retried). The
   * engine checks here that the local file did not change while it was read (#14.1).
   */
  beforeCommit?: () => Promise<void>;
  /**
   * Where temp names come from (the job's temp journal): put() calls next() once per attempt before
   * creating the temp file, and gone() once it renamed or removed it. Default: an unrecorded name.
   */
  temps?: TempNamer;
  /**
   * A temp file left by a killed upload of this same source version to this same path. A transport
   * that can append (FTP APPE) continues it once the bytes there are verified (size, and a server
   * hash where offered), else it starts afresh under a new name; others ignore it.
   */
  resumeFrom?: string;
  /** --bwlimit: the run's shared token bucket, which paces this upload's data. */
  limiter?: BandwidthLimiter;
}

export interface GetOptions {
  /** Expected size (from a listing). get() fails, leaving no file, when the bytes received differ. */
  size?: number;
  /** Set on the local file (atime and mtime) before it is renamed into place. */
  mtime?: Date;
  signal?: AbortSignal;
  /** Bytes received so far, for progress displays. */
  onProgress?: (bytes: number) => void;
  /** --bwlimit: the run's shared token bucket, which paces this download's data. */
  limiter?: BandwidthLimiter;
}

export interface Transport {
  /** Log in. Credentials (and the one-time code) are computed here, never earlier. */
  connect(signal?: AbortSignal): Promise<void>;
  /** Atomic upload: stream to a temporary name in the target directory, verify size, rename. */
  put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void>;
  /**
   * Download: streams `remotePath` to a temporary name beside `localPath` (memory flat in the file's
   * size), verifies the byte count (against `opts.size`, else the size the server reports), sets
   * the mtime, then renames over `localPath`. On any failure the temporary file is removed: there is
   * never a partial file under the final name. The local parent directory must exist. A missing
   * remote file is OtpBackupError('remote').
   */
  get(remotePath: string, localPath: string, opts?: GetOptions): Promise<void>;
  /**
   * Creates `remoteDir` and its missing ancestors; an existing directory is no error. A file in the
   * way is OtpBackupError('remote'). Implementations may remember directories they made or saw.
   */
  mkdirp(remoteDir: string): Promise<void>;
  /**
   * One entry without following a final symlink (type 'link'); undefined when the path does not
   * exist. `mtime` is absent where the server cannot tell it to the second (see ModTimer).
   */
  stat(remotePath: string): Promise<RemoteEntry | undefined>;
  /**
   * The entries of one directory, without `.` and `..`, sorted by name (UTF-16 code units, as
   * `Array.prototype.sort`), each with its absolute path. Not recursive. A missing directory
   * rejects with OtpBackupError('remote') or, where the server cannot tell it from an empty one
   * (vsftpd's LIST), gives []: callers that must know use stat() first.
   */
  list(remoteDir: string): Promise<RemoteEntry[]>;
  /** Renames a file; replaces `to` if it is a file (atomically where the server can). */
  rename(from: string, to: string): Promise<void>;
  /**
   * Removes one file or one *empty* directory — never a tree, so a wrong path cannot take a backup
   * with it. A path that does not exist is no error; a non-empty directory is OtpBackupError('remote').
   */
  remove(remotePath: string): Promise<void>;
  /** Logs out and closes every connection; safe to call twice, and after a failed connect(). */
  close(): Promise<void>;
  /** How many put() calls may run at once on this transport (SFTP: many; FTP: 1). */
  readonly concurrency: number;
  /** True for a stand-in that never logged in (the run had nothing to send): no cleanup either. */
  readonly offline?: boolean;
  /** Whether put() may use PutOptions.resumeFrom now (else a killed run's temps are just removed). */
  readonly canResume?: boolean;
}

/** Content hash algorithms a server may compute for us, strongest first. */
export type HashAlgorithm = 'sha256' | 'sha1' | 'md5';

/**
 * Optional capability: the server hashes a file itself (FTP `HASH`, ProFTPD mod_digest's
 * `XSHA256`/`XSHA1`/`XMD5`), so `verify --read-data` needs no download.
 */
export interface Hasher {
  /** The algorithms this server offers, strongest first; [] when it offers none. Connected first. */
  hashAlgorithms(): HashAlgorithm[];
  /** Lower-case hex digest of the whole file, or undefined when the server would not compute it. */
  hash(remotePath: string, algo: HashAlgorithm): Promise<string | undefined>;
}

export function canHash(t: Transport): t is Transport & Hasher {
  return (
    typeof (t as Partial<Hasher>).hash === 'function' &&
    typeof (t as Partial<Hasher>).hashAlgorithms === 'function'
  );
}

/**
 * Optional capability: the modification time of one file, for servers whose listings carry none
 * to the second (FTP without MLSD: vsftpd, whose LIST says "Nov 30 12:34"). FTP's `MDTM`.
 */
export interface ModTimer {
  /** undefined when the server would not say. */
  modTime(remotePath: string): Promise<Date | undefined>;
}

export function canModTime(t: Transport): t is Transport & ModTimer {
  return typeof (t as Partial<ModTimer>).modTime === 'function';
}

/**
 * Optional capability: whether uploads keep the mtime they are given. FTP needs MFMT for it (vsftpd
 * has none: its copies carry the upload time); SFTP always can (SETSTAT). Absent: assume it does.
 */
export interface MtimeKeeper {
  keepsMtime(): boolean;
}

export function canTellMtime(t: Transport): t is Transport & MtimeKeeper {
  return typeof (t as Partial<MtimeKeeper>).keepsMtime === 'function';
}
