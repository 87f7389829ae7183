// HOTP (RFC 4226). The HMAC and dynamic truncation come from the `otpauth` library; this wrapper
// only validates parameters, so bad config fails with a named field instead of a TypeError.
import { HOTP, Secret } from 'otpauth';
import type { Algorithm } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { checkAlgorithm, checkCounter, checkDigits } from './params.js';

export function hotp(
  secret: Uint8Array,
  counter: number,
  p: { algorithm: Algorithm; digits: number },
): string {
  if (secret.length === 0)
    throw new OtpBackupError('config', 'secret: empty', { hint: 'give the seed shown by the server' });
  const algorithm = checkAlgorithm(p.algorithm);
  const digits = checkDigits(p.digits);
  checkCounter(counter);
  // Copy: Secret keeps the buffer, and a view's .buffer may be larger than the view.
  const key = new Secret({ buffer: secret.slice().buffer });
  return HOTP.generate({ secret: key, algorithm, digits, counter });
}
