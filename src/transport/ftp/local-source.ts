// The local side of an FTP upload: a small file read in one synchronous call, the hash of a prefix
// (to check a resumable temp file), and the empty body a TLS data connection needs.
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { isOtpBackupError, OtpBackupError } from '../../errors.js';
import { fsPath } from '../../scan/raw-name.js';

/**
 * An empty body that ends a moment later. Closing a TLS data connection right after its handshake
 * makes ProFTPD's mod_tls fail the transfer ("decode error") about one time in three; a short pause
 * avoids that race.
 */
export function lateEmptyStream(): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push(null), 100);
    },
  });
}

/** Files up to this size are read in one synchronous call (see readSmallFile). */
const SMALL_FILE = 256 * 1024;

/**
 * Size of a local regular file and, when it is small, its bytes. One transfer at a time means the
 * async open/read/close of a stream — three thread-pool round trips — sit on the critical path of
 * every small file; a synchronous read costs microseconds. O_NONBLOCK: opening a FIFO must not hang.
 */
export function readSmallFile(localPath: string): { size: number; small?: Buffer } {
  let fd: number | undefined;
  try {
    fd = openSync(fsPath(localPath), constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new OtpBackupError('local', `${localPath} is not a regular file`);
    if (st.size > SMALL_FILE) return { size: st.size };
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    for (let n = 1; off < buf.length && n > 0; off += n) n = readSync(fd, buf, off, buf.length - off, off);
    // A file that shrank meanwhile sends what it has; the size check then fails the upload.
    return { size: st.size, small: off === buf.length ? buf : buf.subarray(0, off) };
  } catch (e) {
    if (isOtpBackupError(e)) throw e;
    throw new OtpBackupError(
      'local',
      `cannot read ${localPath} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: e },
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Hex SHA-256 of the first `bytes` bytes of a local file. */
export async function sha256Prefix(localPath: string, bytes: number): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(fsPath(localPath), {
    highWaterMark: 1024 * 1024,
    end: bytes - 1,
  }))
    h.update(chunk as Buffer);
  return h.digest('hex');
}
