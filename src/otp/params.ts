// Validation of OTP parameters shared by hotp/totp and the URI parser. Values may come from untyped
// sources (YAML, URIs, flags), so they are checked at run time and errors name the field.
import type { Algorithm } from '../config/types.js';
import { OtpBackupError } from '../errors.js';

export const ALGORITHMS: readonly Algorithm[] = ['sha1', 'sha256', 'sha512'];
/** Code lengths otpbackup computes (RFC 4226 allows 6 to 8; 9 and 10 overflow the 31-bit value). The
 * config schema, the flags and the interactive prompts all take these bounds from here. */
export const DIGITS_MIN = 6;
export const DIGITS_MAX = 8;
export const DIGITS: readonly number[] = Array.from(
  { length: DIGITS_MAX - DIGITS_MIN + 1 },
  (_, i) => DIGITS_MIN + i,
);
/** Longest TOTP step accepted anywhere (config, flags, otpauth URIs). */
export const PERIOD_MAX = 3600;
/** "6, 7 or 8", for messages. */
export const DIGITS_TEXT = `${DIGITS.slice(0, -1).join(', ')} or ${DIGITS_MAX}`;

export function checkAlgorithm(value: unknown, field = 'algorithm'): Algorithm {
  if (typeof value === 'string' && (ALGORITHMS as readonly string[]).includes(value))
    return value as Algorithm;
  throw new OtpBackupError(
    'config',
    `${field}: must be sha1, sha256 or sha512 (got ${JSON.stringify(value)})`,
    {
      hint: 'sha1 is what most authenticator apps use',
    },
  );
}

export function checkDigits(value: unknown, field = 'digits'): number {
  if (typeof value === 'number' && DIGITS.includes(value)) return value;
  throw new OtpBackupError('config', `${field}: must be ${DIGITS_TEXT} (got ${JSON.stringify(value)})`, {
    hint: 'count the digits of a code shown by your authenticator app',
  });
}

export function checkPeriod(value: unknown, field = 'period'): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= PERIOD_MAX) return value;
  throw new OtpBackupError(
    'config',
    `${field}: must be a positive number of seconds, at most ${PERIOD_MAX} (got ${JSON.stringify(value)})`,
    {
      hint: '30 is the usual TOTP period',
    },
  );
}

export function checkT0(value: unknown, field = 't0'): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new OtpBackupError(
    'config',
    `${field}: must be a number of Unix seconds (got ${JSON.stringify(value)})`,
    {
      hint: '0 (1970-01-01) is the usual TOTP start time',
    },
  );
}

export function checkCounter(value: unknown, field = 'counter'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new OtpBackupError('config', `${field}: must be a whole number >= 0 (got ${JSON.stringify(value)})`, {
    hint: 'the HOTP counter is the number of codes already used',
  });
}
