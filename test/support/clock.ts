// Clocks for tests. A transport's clock times only its retry backoff (1, 2, 4 s ... between tries of
// an operation, or of a login after a network failure) and names its temp files; the one-time-code
// waits belong to the credential source, which keeps the real clock. So a transport built with
// quickRetries still tries exactly as often, against the real server, only without the pauses:
// the conformance suite's size-mismatch cases cost 7 s per case and FTP target with the real one.
import { type Clock, systemClock } from '../../src/schedule/clock.js';

/** Real time; every sleep is cut to at most 10 ms (still async, still abortable). */
export const quickRetries: Clock = {
  now: () => systemClock.now(),
  sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 10), signal),
};
