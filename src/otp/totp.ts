// TOTP (RFC 6238) as HOTP over a time-step counter. Pure: the caller passes the time.
import type { Algorithm } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { hotp } from './hotp.js';
import { checkPeriod, checkT0 } from './params.js';

export interface OtpParams {
  algorithm: Algorithm;
  digits: number;
  /** Seconds per step. */
  period: number;
  /** Unix seconds at which step 0 starts. */
  t0: number;
}

/** floor((t/1000 - t0) / period), computed in milliseconds to avoid rounding at step edges. */
export function totpStep(timeMs: number, period: number, t0 = 0): number {
  checkPeriod(period);
  checkT0(t0);
  if (!Number.isFinite(timeMs)) throw new OtpBackupError('usage', `time: not a valid time (${timeMs})`);
  return Math.floor((timeMs - t0 * 1000) / (period * 1000));
}

/** When `step` begins, in Unix milliseconds. */
export function stepStartMs(step: number, period: number, t0 = 0): number {
  return t0 * 1000 + step * period * 1000;
}

export function totpForStep(
  secret: Uint8Array,
  step: number,
  p: { algorithm: Algorithm; digits: number },
): string {
  if (step < 0) {
    throw new OtpBackupError('usage', `time: before the TOTP start time t0 (step ${step})`, {
      hint: "check the clock and the account's t0",
    });
  }
  return hotp(secret, step, p);
}

export function totpAt(
  secret: Uint8Array,
  timeMs: number,
  p: OtpParams,
): { code: string; step: number; remainingMs: number } {
  const step = totpStep(timeMs, p.period, p.t0);
  const code = totpForStep(secret, step, p);
  return { code, step, remainingMs: stepStartMs(step + 1, p.period, p.t0) - timeMs };
}
