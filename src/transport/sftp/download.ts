// The SFTP read loop of one download: many READs in flight on one channel, each written locally at
// its offset, a probe past the end that must find EOF, --bwlimit pacing, abort and connection loss.
import type { FileHandle } from 'node:fs/promises';
import type { SFTPWrapper } from 'ssh2';
import { OtpBackupError } from '../../errors.js';
import type { GetOptions } from '../types.js';
import { classifySftpError, writeFailure } from './errors.js';

/** What the read loop needs of the transport's connection state. */
export interface ReadLink {
  /** Bytes per READ and READs in flight (tuning, within the server's limits). */
  chunk: number;
  requests: number;
  /** Registers `fail` to be called when the connection is lost; returns the unregister. */
  watchLoss(fail: (lost: Error) => void): () => void;
  /** A reply came on channel `s` (progress, if `s` is still live). */
  answered(s: SFTPWrapper): void;
}

/**
 * Our own read loop (not ssh2's fastGet, whose loop cannot be stopped): up to tuning.requests reads
 * of tuning.chunk in flight, each written at its offset as it arrives, plus one read just past the
 * expected end, which must find EOF. Resolves with the bytes written; a remote file shorter than
 * expected resolves short (the caller's size check fails it), a longer one fails here.
 */
export function readInto(
  s: SFTPWrapper,
  handle: Buffer,
  fh: FileHandle,
  size: number,
  opts: GetOptions,
  what: string,
  link: ReadLink,
): Promise<number> {
  const { chunk, requests } = link;
  return new Promise<number>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let received = 0;
    let eof = false;
    let settled = false;
    const paced = new Set<() => void>();
    // Set once the loss is watched; an abort before that has nothing to unregister.
    let unwatch: () => void = () => {};
    const finish = (e?: unknown) => {
      if (settled) return;
      settled = true;
      for (const cancel of paced) cancel();
      unwatch();
      opts.signal?.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve(received);
    };
    const onLost = (lost: Error) =>
      finish(
        new OtpBackupError('network', `${what}: connection lost (${lost.message})`, { retryable: true }),
      );
    const onAbort = () => finish(opts.signal?.reason ?? new OtpBackupError('interrupted', 'interrupted'));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    unwatch = link.watchLoss(onLost);

    const settleIfDone = () => {
      if (!settled && inFlight === 0 && (next >= size || eof)) finish();
    };
    const readAt = (off: number, len: number, probe = false, counted = false) => {
      if (!counted) inFlight++;
      s.read(handle, Buffer.allocUnsafe(len), 0, len, off, (err, n, buf) => {
        if (settled) return;
        if (err) return finish(classifySftpError(err, what));
        link.answered(s);
        if (probe) {
          inFlight--;
          if (n > 0)
            return finish(
              new OtpBackupError('remote', `${what}: the remote file grew while it was read`, {
                retryable: true,
                hint: 'something is writing to it; run again',
              }),
            );
          return settleIfDone();
        }
        if (n === 0) {
          // EOF before the expected size: the file shrank. What was read is returned short.
          inFlight--;
          eof = true;
          return settleIfDone();
        }
        fh.write(buf, 0, n, off).then(
          () => {
            inFlight--;
            received += n;
            opts.onProgress?.(received);
            // A short read (servers may cap a reply) asks for the rest of that chunk.
            if (n < len) readAt(off + n, len - n);
            issue();
            settleIfDone();
          },
          (e) =>
            finish(
              new OtpBackupError('local', `${what}: cannot write locally (${writeFailure(e)})`, {
                cause: e,
              }),
            ),
        );
      });
    };
    // --bwlimit: a READ is asked for only once the bucket has its bytes, so the server sends no
    // faster than the rate (the wait counts as in flight, keeping `requests` the cap).
    const limiter = opts.limiter;
    const issue = () => {
      while (!settled && !eof && inFlight < requests && next < size) {
        const len = Math.min(chunk, size - next);
        const off = next;
        next += len;
        if (!limiter) readAt(off, len);
        else {
          inFlight++;
          let went = false;
          let cancel: (() => void) | undefined;
          cancel = limiter.after(len, () => {
            went = true;
            if (cancel) paced.delete(cancel);
            if (!settled) readAt(off, len, false, true);
          });
          if (!went) paced.add(cancel);
        }
      }
    };
    readAt(size, 1, true);
    issue();
  });
}
