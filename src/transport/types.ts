// The Transport seam (DESIGN.md "Seams"). Every implementation passes test/transport/suite.ts.

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
}
