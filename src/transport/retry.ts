// The one retry/backoff policy of both transports and of the login discipline: which errors are
// worth another try, how long to wait before it, and (for a per-operation budget) the loop itself.
// SFTP keeps its own loop on top of shouldRetry/backoffMs: its budget is the transport's losses
// since the server last answered (shared by every put in flight), and one reconnect serves them all.
import { isOtpBackupError, type OtpBackupError } from '../errors.js';
import type { Clock } from '../schedule/clock.js';

/** The first wait; each further try doubles it. */
export const BACKOFF_BASE_MS = 1000;
/** No wait is longer: a link that comes back is used within half a minute. */
export const BACKOFF_CAP_MS = 30_000;

/** Wait before retry number `attempt` (0 = the first retry): 1 s, 2 s, 4 s … capped at 30 s. */
export function backoffMs(attempt: number): number {
  const n = Math.max(0, Math.floor(attempt));
  // 2 ** 15 s is already past the cap; bounding the exponent keeps the number finite for any input.
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.min(n, 15), BACKOFF_CAP_MS);
}

/**
 * Whether another try may succeed: an OtpBackupError flagged `retryable` (network faults by
 * default, and the few remote ones a transport flags: an upload the server got short, 450/451).
 * `networkOnly`: only a lost connection counts (SFTP retries nothing else).
 * Anything else — auth, trust, config, permission, space, a plain Error — is final.
 */
export function shouldRetry(e: unknown, opts: { networkOnly?: boolean } = {}): e is OtpBackupError {
  if (!isOtpBackupError(e) || !e.retryable) return false;
  return !opts.networkOnly || e.code === 'network';
}

export interface RetryOptions {
  /** Retries after the first try (0 = try once). */
  budget: number;
  /** Times the waits (tests pass quickRetries). */
  clock: Clock;
  /** Aborting stops at once: no further try, the wait rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called before the wait of each retry (log it, drop a broken session). */
  onRetry?: (error: OtpBackupError, attempt: number) => void;
}

/**
 * Runs `fn(attempt)` until it resolves, the error is final (shouldRetry), the budget is spent or
 * the signal aborts; then rejects with the last error as `fn` threw it. `fn` maps its errors to
 * OtpBackupError itself (each protocol classifies its own).
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (e) {
      if (o.signal?.aborted || !shouldRetry(e) || attempt >= o.budget) throw e;
      o.onRetry?.(e, attempt);
      await o.clock.sleep(backoffMs(attempt), o.signal);
    }
  }
}
