// Unit tests of the one retry policy (src/transport/retry.ts), in process with a recording clock:
// which errors are retried, the waits between tries, the budget and the abort.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import type { Clock } from '../../src/schedule/clock.js';
import { BACKOFF_CAP_MS, backoffMs, retrying, shouldRetry } from '../../src/transport/retry.js';

/** A clock whose sleeps return at once and are recorded (an aborted signal still rejects). */
function recordingClock(): Clock & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => 0,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      waits.push(ms);
    },
  };
}

const lost = () => new OtpBackupError('network', 'connection lost');

describe('backoffMs', () => {
  test('1 s, doubling, capped at 30 s (the formula FTP, SFTP and the login discipline each had)', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 50].map(backoffMs),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
    );
    assert.equal(BACKOFF_CAP_MS, 30_000);
  });
  test('odd inputs stay finite and in range', () => {
    assert.equal(backoffMs(-3), 1000);
    assert.equal(backoffMs(2.7), 4000);
    assert.equal(backoffMs(1e9), 30000);
  });
});

describe('shouldRetry', () => {
  test('a network fault is retried (retryable by default)', () => {
    assert.equal(shouldRetry(lost()), true);
    assert.equal(shouldRetry(lost(), { networkOnly: true }), true);
  });
  test('a network fault flagged not retryable (an SSH handshake that failed) is final', () => {
    assert.equal(shouldRetry(new OtpBackupError('network', 'handshake', { retryable: false })), false);
  });
  test('a remote error flagged retryable (short upload, 450) is retried, except under networkOnly', () => {
    const short = new OtpBackupError('remote', 'the server has 3 bytes', { retryable: true });
    assert.equal(shouldRetry(short), true);
    assert.equal(shouldRetry(short, { networkOnly: true }), false);
  });
  test('auth, trust, permission, space and plain errors are final', () => {
    for (const code of ['auth', 'trust', 'trust-changed', 'config', 'remote', 'local'] as const)
      assert.equal(shouldRetry(new OtpBackupError(code, 'x')), false, code);
    assert.equal(shouldRetry(new Error('ECONNRESET')), false);
    assert.equal(shouldRetry('ECONNRESET'), false);
    assert.equal(shouldRetry(undefined), false);
  });
});

describe('retrying', () => {
  test('retries a retryable error up to the budget, waiting 1, 2, 4 s, then throws the last error', async () => {
    const clock = recordingClock();
    const seen: number[] = [];
    let calls = 0;
    const last = lost();
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw calls === 4 ? last : lost();
        },
        { budget: 3, clock, onRetry: (_e, attempt) => seen.push(attempt) },
      ),
      (e) => e === last,
    );
    assert.equal(calls, 4);
    assert.deepEqual(seen, [0, 1, 2]);
    assert.deepEqual(clock.waits, [1000, 2000, 4000]);
  });
  test('a success after failures returns its value and stops', async () => {
    const clock = recordingClock();
    let calls = 0;
    const r = await retrying(
      async (attempt) => {
        calls++;
        if (attempt < 2) throw lost();
        return 'done';
      },
      { budget: 5, clock },
    );
    assert.equal(r, 'done');
    assert.equal(calls, 3);
    assert.deepEqual(clock.waits, [1000, 2000]);
  });
  test('a final error is thrown at once, with no wait', async () => {
    const clock = recordingClock();
    let calls = 0;
    const refused = new OtpBackupError('auth', 'refused');
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw refused;
        },
        { budget: 3, clock },
      ),
      (e) => e === refused,
    );
    assert.equal(calls, 1);
    assert.deepEqual(clock.waits, []);
  });
  test('budget 0 tries once', async () => {
    const clock = recordingClock();
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw lost();
        },
        { budget: 0, clock },
      ),
    );
    assert.equal(calls, 1);
  });
  test('an abort during a try is not retried; an aborted signal is not tried at all', async () => {
    const clock = recordingClock();
    const ac = new AbortController();
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          ac.abort(new OtpBackupError('interrupted', 'interrupted'));
          throw lost();
        },
        { budget: 3, clock, signal: ac.signal },
      ),
      (e) => e instanceof OtpBackupError && e.code === 'network',
    );
    assert.equal(calls, 1);
    assert.deepEqual(clock.waits, []);
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          return 1;
        },
        { budget: 3, clock, signal: ac.signal },
      ),
      (e) => e instanceof OtpBackupError && e.code === 'interrupted',
    );
    assert.equal(calls, 1);
  });
  test('an abort during the wait rejects with the reason and stops', async () => {
    const ac = new AbortController();
    const clock: Clock = {
      now: () => 0,
      sleep: async (_ms, signal) => {
        ac.abort(new OtpBackupError('interrupted', 'stop'));
        throw signal?.reason;
      },
    };
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw lost();
        },
        { budget: 3, clock, signal: ac.signal },
      ),
      (e) => e instanceof OtpBackupError && e.code === 'interrupted',
    );
    assert.equal(calls, 1);
  });
});
