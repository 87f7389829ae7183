// A Transport that "uploads" into a local directory, for engine tests. It keeps the contract that
// matters to the engine: put writes a temp name then renames; it counts calls and concurrency.
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OtpBackupError } from '../../src/errors.js';
import type { PutOptions, RemoteEntry, Transport } from '../../src/transport/types.js';

export class LocalTransport implements Transport {
  puts: string[] = [];
  removes: string[] = [];
  renames: [string, string][] = [];
  inFlight = 0;
  maxInFlight = 0;
  connected = false;
  closed = false;
  /** Called inside put, after the copy and before the rename (to mutate files "during" upload). */
  duringPut?: (localPath: string, remotePath: string) => Promise<void> | void;
  /** Throw this for a put of the remote path. */
  failPut?: (remotePath: string) => Error | undefined;
  putDelayMs = 0;
  /** Like the real transports; false plays one that ignores the hook (the engine checks after). */
  callBeforeCommit = true;

  constructor(
    readonly root: string,
    readonly concurrency = 1,
  ) {}

  private local(p: string): string {
    return join(this.root, p);
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const err = this.failPut?.(remotePath);
      if (err) throw err;
      const tmp = `${this.local(remotePath)}.tmp-upload`;
      await copyFile(localPath, tmp);
      if (this.putDelayMs) await new Promise((r) => setTimeout(r, this.putDelayMs));
      await this.duringPut?.(localPath, remotePath);
      const st = await stat(tmp);
      if (opts?.size !== undefined && st.size !== opts.size) {
        // Like a real transport: the size check fails when the file changed under us.
        await rm(tmp, { force: true });
        throw new OtpBackupError('remote', `size mismatch for ${remotePath}`);
      }
      opts?.onProgress?.(st.size);
      if (this.callBeforeCommit) {
        try {
          await opts?.beforeCommit?.();
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
      }
      await rename(tmp, this.local(remotePath));
      this.puts.push(remotePath);
    } finally {
      this.inFlight--;
    }
  }

  async mkdirp(remoteDir: string): Promise<void> {
    await mkdir(this.local(remoteDir), { recursive: true });
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    try {
      const st = await stat(this.local(remotePath));
      return {
        name: remotePath.split('/').pop() ?? '',
        path: remotePath,
        type: st.isDirectory() ? 'dir' : 'file',
        size: st.size,
        mtime: st.mtime,
      };
    } catch {
      return undefined;
    }
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const out: RemoteEntry[] = [];
    for (const d of await readdir(this.local(remoteDir), { withFileTypes: true })) {
      const path = `${remoteDir.replace(/\/$/, '')}/${d.name}`;
      out.push({ name: d.name, path, type: d.isDirectory() ? 'dir' : 'file', size: 0 });
    }
    return out;
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(this.local(from), this.local(to));
    this.renames.push([from, to]);
  }

  async remove(remotePath: string): Promise<void> {
    await rm(this.local(remotePath));
    this.removes.push(remotePath);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
