// The Transport seam (DESIGN.md "Seams"). Every implementation passes test/transport/suite.ts.
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
  signal?: AbortSignal;
  /** Bytes written so far, for progress displays. */
  onProgress?: (bytes: number) => void;
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
}

export interface Transport {
  /** Log in. Credentials (and the one-time code) are computed here, never earlier. */
  connect(signal?: AbortSignal): Promise<void>;
  /** Atomic upload: stream to a temporary name in the target directory, verify size, rename. */
  put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void>;
  mkdirp(remoteDir: string): Promise<void>;
  /** undefined when the path does not exist. */
  stat(remotePath: string): Promise<RemoteEntry | undefined>;
  list(remoteDir: string): Promise<RemoteEntry[]>;
  /** Replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  remove(remotePath: string): Promise<void>;
  close(): Promise<void>;
  /** How many put() calls may run at once on this transport (SFTP: many; FTP: 1). */
  readonly concurrency: number;
  /** True for a stand-in that never logged in (the run had nothing to send): no cleanup either. */
  readonly offline?: boolean;
  /** Whether put() may use PutOptions.resumeFrom now (else a killed run's temps are just removed). */
  readonly canResume?: boolean;
}
