// A Transport that "uploads" into a local directory, for engine tests. It keeps the contract that
// matters to the engine: put writes a temp name then renames; it counts calls and concurrency. It
// passes the transport conformance suite (test/backup/local-transport-suite.test.ts), so it behaves
// like the real transports where the engine can tell: the same temp names, sizes in listings, names
// with CR/LF/NUL refused, removing what is gone is no error, a missing local file is a 'local' error.
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OtpBackupError } from '../../src/errors.js';
import { writeLocalAtomically } from '../../src/transport/local-file.js';
import {
  basename,
  isTempName,
  join as remoteJoin,
  STALE_TEMP_MS,
  tempNameCreatedAt,
  tempPathFor,
  validateRemotePath,
} from '../../src/transport/remote-path.js';
import type { GetOptions, PutOptions, RemoteEntry, Transport } from '../../src/transport/types.js';

const entryType = (st: import('node:fs').Stats): RemoteEntry['type'] =>
  st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'link' : 'other';

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

  /** As the real transports: "." and "~" (and paths below them) are the login directory, here "/". */
  private abs(p: string): string {
    validateRemotePath(p);
    const rest = p === '.' || p === '~' ? '' : p.startsWith('./') || p.startsWith('~/') ? p.slice(2) : p;
    return remoteJoin('/', rest);
  }

  private local(p: string): string {
    return join(this.root, this.abs(p));
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const final = this.local(remotePath);
      const err = this.failPut?.(remotePath);
      if (err) throw err;
      // The job's temp journal names the temp file, as with the real transports (#14.7).
      const tmpRemote =
        opts?.temps?.next(this.abs(remotePath)) ?? tempPathFor(this.abs(remotePath), Date.now());
      const tmp = this.local(tmpRemote);
      try {
        await copyFile(localPath, tmp);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        await rm(tmp, { force: true });
        // Like the real transports: a source that cannot be read is the local side's fault.
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR')
          throw new OtpBackupError('local', `cannot read ${localPath} (${code})`, { cause: e });
        throw e;
      }
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
      await rename(tmp, final);
      opts?.temps?.gone(tmpRemote);
      this.puts.push(remotePath);
    } finally {
      this.inFlight--;
    }
  }

  gets: string[] = [];

  async get(remotePath: string, localPath: string, opts?: GetOptions): Promise<void> {
    const src = this.local(remotePath);
    const st = await stat(src).catch(() => undefined);
    if (!st?.isFile()) throw new OtpBackupError('remote', `download of ${remotePath}: no such file`);
    await writeLocalAtomically(
      localPath,
      async (fh) => {
        await fh.writeFile(await readFile(src));
        const n = (await fh.stat()).size;
        opts?.onProgress?.(n);
        return n;
      },
      {
        expected: opts?.size ?? st.size,
        what: `download of ${remotePath}`,
        ...(opts?.mtime ? { mtime: opts.mtime } : {}),
      },
    );
    this.gets.push(remotePath);
  }

  async mkdirp(remoteDir: string): Promise<void> {
    await mkdir(this.local(remoteDir), { recursive: true });
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    const p = this.local(remotePath);
    try {
      const st = await stat(p);
      return {
        name: basename(remotePath),
        path: remotePath,
        type: entryType(st),
        size: st.size,
        mtime: st.mtime,
      };
    } catch {
      return undefined;
    }
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.local(remoteDir);
    const out: RemoteEntry[] = [];
    for (const name of (await readdir(dir)).sort()) {
      const st = await lstat(join(dir, name));
      out.push({
        name,
        path: remoteJoin(this.abs(remoteDir), name),
        type: entryType(st),
        size: st.size,
        mtime: st.mtime,
      });
    }
    return out;
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(this.local(from), this.local(to));
    this.renames.push([from, to]);
  }

  /** A file, or an empty directory; one that is already gone is no error. */
  async remove(remotePath: string): Promise<void> {
    const p = this.local(remotePath);
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      await rmdir(p).catch((e: NodeJS.ErrnoException) => {
        throw new OtpBackupError('remote', `cannot remove ${remotePath} (${e.code})`, { cause: e });
      });
    } else await rm(p);
    this.removes.push(remotePath);
  }

  /** Temp files of interrupted uploads in `remoteDir`, older than an hour (or all). */
  async cleanupTemp(remoteDir: string, opts: { all?: boolean } = {}): Promise<string[]> {
    const now = Date.now();
    const stale = (await this.list(remoteDir).catch(() => [])).filter(
      (e) =>
        e.type === 'file' &&
        isTempName(e.name) &&
        (opts.all || now - (tempNameCreatedAt(e.name) ?? 0) >= STALE_TEMP_MS),
    );
    for (const e of stale) await this.remove(e.path);
    return stale.map((e) => e.path);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
