// The SFTP write loop (replaces ssh2's fastPut, #14.5): reads the local file in chunks and keeps a
// fixed number of WRITE requests in flight, like fastPut, but
//  - a read that finds EOF before the expected size is "the file changed" (fastPut re-read at EOF
//    forever, at 100 % CPU, when a file shrank mid-upload: logrotate copytruncate);
//  - it stops issuing reads and writes once its signal aborts, and returns when the requests in
//    flight have been answered (or failed with the connection), so Ctrl-C / SIGTERM is prompt;
//  - it sends exactly `size` bytes: growth is left for the engine's check before the commit;
//  - it can start at an offset (resuming a killed upload) and reports the contiguous prefix that is
//    acknowledged: WRITEs are answered out of order, so a temp file may have holes below its size,
//    and only that prefix is safe to resume from.
import { constants, open as openCb, read } from 'node:fs';
import { OtpBackupError } from '../../errors.js';
import { fsPath } from '../../scan/raw-name.js';
import type { BandwidthLimiter } from '../bwlimit.js';

export interface SendFileOptions {
  /** Local file, open for reading. */
  fd: number;
  /** Bytes to send (the size the file had when the upload began). */
  size: number;
  /** Bytes per WRITE request. */
  chunk: number;
  /** WRITE requests in flight at once. */
  requests: number;
  /** Sends one WRITE of buf[0, len) at `offset`; resolves when the server acknowledged it. */
  write(buf: Buffer, len: number, offset: number): Promise<void>;
  signal?: AbortSignal;
  /** First offset to send (bytes below it are on the server already); default 0. */
  start?: number;
  /** Bytes acknowledged so far, `start` included (not in offset order: each WRITE is answered for its
   *  own range). */
  onAck?(total: number): void;
  /** Every byte below `offset` is acknowledged (called when that prefix grows). */
  onPrefix?(offset: number): void;
  /** For messages. */
  what: string;
  /** --bwlimit: each WRITE waits for its bytes from the shared bucket before it is sent. */
  limiter?: BandwidthLimiter;
}

/** Why an upload stopped because the local file ended early. */
export class FileShrankError extends OtpBackupError {
  constructor(what: string, at: number, size: number) {
    super(
      'local',
      `${what}: the file ended at ${at} of ${size} bytes: it changed while being uploaded; it will be sent again next run`,
    );
  }
}

function readAt(fd: number, buf: Buffer, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, len, pos, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * Sends bytes [start, size) of `fd`; resolves with the bytes acknowledged, `start` included
 * (== size), or rejects with the first error (FileShrankError, a read error, a WRITE failure).
 * With the signal aborted it resolves early with what was acknowledged; the caller then drops the
 * temp file.
 */
export async function sendFile(o: SendFileOptions): Promise<number> {
  const start = o.start ?? 0;
  let next = start; // next offset to read
  let acked = start;
  /** Offsets of the chunks read and not yet acknowledged (at most `requests`). */
  const open = new Set<number>();
  let prefix = start;
  const advance = () => {
    let low = next;
    for (const off of open) if (off < low) low = off;
    if (low > prefix) {
      prefix = low;
      o.onPrefix?.(prefix);
    }
  };
  let failure: unknown;
  const stop = () => failure !== undefined || o.signal?.aborted === true;
  // One buffer per request slot: a slot reads its chunk, writes it and waits for the answer before
  // reading again, so at most `requests` WRITEs are unanswered (as with fastPut).
  const slot = async () => {
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(o.chunk, o.size - start)));
    while (!stop() && next < o.size) {
      const pos = next;
      const len = Math.min(o.chunk, o.size - pos);
      next += len;
      open.add(pos);
      let got = 0;
      while (got < len) {
        const n = await readAt(o.fd, buf.subarray(got), len - got, pos + got);
        if (n === 0) throw new FileShrankError(o.what, pos + got, o.size);
        got += n;
      }
      if (stop()) return;
      if (o.limiter) {
        await o.limiter.take(len, o.signal).catch(() => {});
        if (stop()) return;
      }
      await o.write(buf, len, pos);
      open.delete(pos);
      acked += len;
      o.onAck?.(acked);
      advance();
    }
  };
  const slots = Math.max(1, Math.min(o.requests, Math.ceil((o.size - start) / o.chunk)));
  await Promise.all(
    Array.from({ length: slots }, () =>
      slot().catch((e) => {
        failure ??= e;
      }),
    ),
  );
  if (failure !== undefined) throw failure;
  return acked;
}

/** Opens a local file for reading; O_NONBLOCK so a FIFO put in its place cannot hang the open. */
export function openLocal(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    openCb(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK, (err, fd) => {
      if (err) reject(new OtpBackupError('local', `cannot read ${path}: ${err.message}`, { cause: err }));
      else resolve(fd);
    });
  });
}
