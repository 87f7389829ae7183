// Stopping an upload on Ctrl-C / SIGTERM (#14.5): the data stops, the protocol stays in step (so the
// temp file can be removed over the same session), and whatever does not stop in time is cut.
import { Readable } from 'node:stream';
import { OtpBackupError } from '../errors.js';

/** How long an operation in flight may take to wind down after an abort before its connection is cut. */
export const ABORT_GRACE_MS = 3000;

/** What put() rejects with when its signal aborted the transfer (the temp file is dropped). */
export function uploadInterrupted(what: string): OtpBackupError {
  return new OtpBackupError('interrupted', `${what}: interrupted; not committed`, {
    hint: 'run again to send it',
  });
}

/**
 * `source`, ending early (cleanly, as if at EOF) once `signal` aborts. An upload fed from it then
 * finishes normally with a short temp file: no half-read reply on the control connection, no
 * reconnect (and no one-time code spent) to remove the temp file.
 */
export function untilAborted(source: Readable, signal: AbortSignal | undefined): Readable {
  if (!signal) return source;
  return Readable.from(
    (async function* () {
      try {
        for await (const chunk of source) {
          if (signal.aborted) return;
          yield chunk as Buffer;
        }
      } finally {
        source.destroy();
      }
    })(),
    { objectMode: false },
  );
}
