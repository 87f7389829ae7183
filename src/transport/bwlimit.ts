// --bwlimit: one token bucket per run, shared by every transfer in flight (as rclone does), applied
// to the data stream of both protocols — FTP by pacing the stream fed to / drained from the data
// connection, SFTP by pacing its WRITE and READ requests. Rates are BYTES per second, like rclone's.
import { Readable, Writable } from 'node:stream';
import { OtpBackupError } from '../errors.js';

/** A monotonic clock in milliseconds (performance.now by default; tests inject their own). */
export type MonotonicMs = () => number;

export interface BandwidthLimiter {
  /** Bytes per second. */
  readonly rate: number;
  /** Bytes that may pass at once after an idle spell (the bucket's size). */
  readonly burst: number;
  /**
   * Reserves `bytes` now and says how many ms to wait before sending them (0: at once). Reservations
   * queue: concurrent callers are paced one after the other, so the sum never runs ahead of the rate.
   */
  reserve(bytes: number): number;
  /** reserve() and wait; rejects with the signal's reason when it aborts meanwhile. */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
  /** reserve() and call `go` once due (by this limiter's clock, never early); returns a cancel. */
  after(bytes: number, go: () => void): () => void;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * "1M", "500k", "1.5G", "800" → bytes per second (k/M/G are powers of 1024, case-insensitive, an
 * optional trailing "B" or "/s"; bytes, not bits, as in rclone). "0" or "off" → 0 (no limit).
 * Anything else → undefined.
 */
export function parseRate(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'off' || t === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:\/s)?$/.exec(t);
  if (!m) return undefined;
  const v = Number(m[1]) * UNITS[m[2]!]!;
  if (!Number.isFinite(v) || v < 1) return undefined;
  return Math.floor(v);
}

/** Bytes per second as users write them: "1M", "500k", or the plain number (parseRate's inverse). */
export function formatRate(bytes: number): string | number {
  for (const [u, f] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['k', 1024],
  ] as const)
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  return bytes;
}

/** Like parseRate, for a CLI flag or config value: a bad value is a one-line usage/config error. */
export function rateOrThrow(
  text: string | number,
  field: string,
  code: 'usage' | 'config' = 'usage',
): number {
  const r = typeof text === 'number' ? (text >= 0 ? Math.floor(text) : undefined) : parseRate(text);
  if (r === undefined)
    throw new OtpBackupError(code, `${field} "${String(text)}" is not a rate`, {
      hint: 'give bytes per second, e.g. 500k, 1M or 1.5G (k/M/G = 1024, 1024², 1024³; 0 = no limit)',
    });
  return r;
}

/** The smallest bucket: one SFTP request (32 KiB) passes whole when the link was idle. */
const MIN_BURST = 32 * 1024;

/**
 * A token bucket of `rate` bytes/s holding at most `burst` (default a tenth of a second's worth, at
 * least 32 KiB: small, so a 10 s transfer is within 1–2 % of the rate). It starts full. A reservation
 * larger than what is left puts the bucket in debt, and the caller waits until the debt is repaid.
 */
export function createLimiter(
  rate: number,
  opts: { burst?: number; now?: MonotonicMs } = {},
): BandwidthLimiter {
  if (!(rate > 0)) throw new RangeError('rate must be > 0');
  const now = opts.now ?? (() => performance.now());
  const burst = opts.burst ?? Math.max(MIN_BURST, Math.floor(rate / 10));
  let tokens = burst;
  let last = now();
  const reserve = (bytes: number): number => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - last) * rate) / 1000);
    last = t;
    tokens -= bytes;
    return tokens >= 0 ? 0 : (-tokens * 1000) / rate;
  };
  // Timers may fire a little early by this clock (libuv caches its loop time): wait out the rest.
  const at = (due: number, go: () => void): (() => void) => {
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const left = due - now();
      if (left <= 0) return go();
      timer = setTimeout(tick, Math.ceil(left));
    };
    tick();
    return () => clearTimeout(timer);
  };
  const after = (bytes: number, go: () => void): (() => void) => at(now() + reserve(bytes), go);
  return {
    rate,
    burst,
    reserve,
    after,
    take(bytes, signal) {
      signal?.throwIfAborted();
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          cancel();
          reject(signal?.reason);
        };
        const cancel = after(bytes, () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

/**
 * FTP streams pass the bucket in pieces of a tenth of a second's worth (1–64 KiB; FTP reads 1 MiB
 * chunks), so the data connection never sits idle long enough to trip the I/O timeout.
 */
function pieceOf(l: BandwidthLimiter): number {
  return Math.max(1024, Math.min(64 * 1024, Math.floor(l.rate / 10)));
}

/** `source` as a stream whose bytes are let through at the limiter's pace (an upload's data). */
export function throttledReadable(
  source: Readable,
  limiter: BandwidthLimiter,
  signal?: AbortSignal,
): Readable {
  const PIECE = pieceOf(limiter);
  async function* paced() {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length; i += PIECE) {
        const piece = chunk.subarray(i, i + PIECE);
        await limiter.take(piece.length, signal);
        yield piece;
      }
    }
  }
  const out = Readable.from(paced(), { objectMode: false });
  out.once('close', () => source.destroy());
  return out;
}

/**
 * A Writable in front of `target` that takes each piece from the limiter before passing it on (a
 * download's data): while it waits, the data connection is not read and TCP slows the server down.
 */
export function throttledWritable(
  target: Writable,
  limiter: BandwidthLimiter,
  signal?: AbortSignal,
): Writable {
  const PIECE = pieceOf(limiter);
  const w = new Writable({
    highWaterMark: PIECE,
    write(chunk: Buffer, _enc, cb) {
      (async () => {
        for (let i = 0; i < chunk.length; i += PIECE) {
          const piece = chunk.subarray(i, i + PIECE);
          await limiter.take(piece.length, signal);
          if (!target.write(piece)) await new Promise<void>((r) => target.once('drain', r));
        }
      })().then(() => cb(), cb);
    },
    final(cb) {
      target.end(cb);
    },
    destroy(err, cb) {
      if (err) target.destroy(err);
      cb(err);
    },
  });
  target.once('error', (e) => w.destroy(e));
  return w;
}
