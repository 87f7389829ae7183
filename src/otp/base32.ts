// Seed parsing. People copy seeds from web pages and PDFs, so Base32 input is forgiving about
// spacing, dashes, case and padding, but a wrong character is reported with its position.
// Messages name the offending character and where it is, never the rest of the seed.
import { OtpBackupError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** How a character is shown in an error: printable as itself, anything else as U+XXXX. */
function showChar(ch: string): string {
  // Letters, digits, punctuation and symbols are shown; spaces, controls and zero-width marks are not.
  if (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch)) return `"${ch}"`;
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

function badChar(kind: string, ch: string, position: number, hint: string): OtpBackupError {
  return new OtpBackupError(
    'config',
    `secret: invalid ${kind} character ${showChar(ch)} at position ${position}`,
    {
      hint,
    },
  );
}

const BASE32_HINT =
  'Base32 seeds use only the letters A-Z and the digits 2-7 (spaces and dashes are ignored)';

function lookalikeHint(ch: string): string {
  const guess: Record<string, string> = { '0': 'O', '1': 'I or L', '8': 'B' };
  const g = guess[ch];
  if (g) return `${BASE32_HINT}; "${ch}" is not Base32 (did you mean ${g}?)`;
  return `${BASE32_HINT}; a hexadecimal seed is written "hex:3132..."`;
}

function decodeHex(body: string, offset: number): Uint8Array {
  const chars = [...body];
  const digits: string[] = [];
  chars.forEach((ch, i) => {
    if (/\s|:/.test(ch)) return; // "31 32 33" and "31:32:33" are common renderings
    if (!/[0-9a-fA-F]/.test(ch)) {
      throw badChar(
        'hexadecimal',
        ch,
        offset + i + 1,
        'a hex seed uses only 0-9 and a-f, e.g. "hex:3132333435"',
      );
    }
    digits.push(ch);
  });
  if (digits.length === 0)
    throw new OtpBackupError('config', 'secret: empty after "hex:"', { hint: 'put the seed after "hex:"' });
  if (digits.length % 2 !== 0) {
    throw new OtpBackupError('config', `secret: hex seed has an odd number of digits (${digits.length})`, {
      hint: 'each byte is two hex digits; a digit is probably missing or extra',
    });
  }
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits[2 * i]! + digits[2 * i + 1]!, 16);
  return out;
}

function decodeBase32(text: string): Uint8Array {
  const chars = [...text]; // code points, so positions match what a person counts
  const values: number[] = [];
  let padStart = -1;
  chars.forEach((raw, i) => {
    if (/\s/u.test(raw) || raw === '-') return;
    if (raw === '=') {
      if (padStart < 0) padStart = i;
      return;
    }
    const idx = ALPHABET.indexOf(raw.toUpperCase());
    if (idx < 0) throw badChar('Base32', raw, i + 1, lookalikeHint(raw));
    if (padStart >= 0) {
      throw new OtpBackupError(
        'config',
        `secret: Base32 padding "=" at position ${padStart + 1} is followed by more characters`,
        {
          hint: '"=" may only appear at the end of a Base32 seed',
        },
      );
    }
    values.push(idx);
  });
  if (values.length === 0) {
    throw new OtpBackupError('config', 'secret: empty', { hint: 'give the Base32 seed shown by the server' });
  }
  // 1, 3 or 6 leftover characters cannot come from whole bytes: the seed was cut or has an extra letter.
  if ([1, 3, 6].includes(values.length % 8)) {
    throw new OtpBackupError(
      'config',
      `secret: Base32 seed of ${values.length} characters cannot be decoded to whole bytes`,
      {
        hint: 'a character is probably missing or extra; copy the seed again',
      },
    );
  }
  const out = new Uint8Array(Math.floor((values.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (const v of values) {
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Parses a seed: Base32 (spaces, dashes, lower case and missing padding tolerated) or "hex:...".
 * Throws OtpBackupError('config') naming a bad character and its 1-based position.
 */
export function parseSecret(text: string): Uint8Array {
  const trimmed = text.replace(/^\s+/u, '');
  const lead = [...text].length - [...trimmed].length;
  const m = /^hex:/i.exec(trimmed);
  if (m) return decodeHex(trimmed.slice(m[0].length), lead + m[0].length);
  return decodeBase32(text);
}

/** RFC 4648 Base32 without padding, the form otpauth:// URIs and authenticator apps use. */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}
