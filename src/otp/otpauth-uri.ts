// otpauth:// URIs (Google Authenticator "Key Uri Format"), the form QR codes carry.
// Parsed by hand rather than with the `otpauth` library so every error names the field at fault,
// and no message ever contains the URI (it holds the seed).
import type { Algorithm } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { encodeBase32, parseSecret } from './base32.js';
import { checkAlgorithm, checkCounter, checkDigits, checkPeriod } from './params.js';

export interface OtpauthInfo {
  type: 'totp' | 'hotp';
  secret: Uint8Array;
  algorithm: Algorithm;
  digits: number;
  period: number;
  counter?: number;
  issuer?: string;
  /** The whole label as decoded, e.g. "Example:alice@example.com". */
  label?: string;
  /** The account part of the label (after "Issuer:"). */
  account?: string;
}

/** Parameters that decide the codes: each may appear once. */
const CODE_PARAMS = new Set(['secret', 'algorithm', 'digits', 'period', 'counter']);

const HINT = 'an otpauth URI looks like otpauth://totp/Issuer:alice?secret=BASE32&issuer=Issuer';

function uriError(message: string, hint = HINT): OtpBackupError {
  return new OtpBackupError('config', `otpauth URI: ${message}`, { hint });
}

/** Re-throws a field validation error with the URI prefix and the URI's parameter name. */
function field<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof OtpBackupError) {
      const msg = e.message.replace(/^[a-z0-9]+: /, '');
      throw new OtpBackupError('config', `otpauth URI: ${name}: ${msg}`, { hint: e.hint });
    }
    throw e;
  }
}

function decode(text: string, what: string): string {
  let out: string;
  try {
    out = decodeURIComponent(text);
  } catch {
    throw uriError(`${what} has invalid %-encoding`);
  }
  // A lone UTF-16 surrogate is not text: it could not be encoded again (encodeURIComponent throws).
  if (/\p{Cs}/u.test(out)) throw uriError(`${what} is not valid Unicode (a lone surrogate character)`);
  return out;
}

function intParam(name: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new OtpBackupError(
      'config',
      `${name}: must be a whole number (got ${JSON.stringify(raw.slice(0, 20))})`,
    );
  }
  const n = Number(raw.trim());
  // 1e21 and up would render as "1e+21", which is not a whole number any more.
  if (!Number.isSafeInteger(n))
    throw new OtpBackupError('config', `${name}: ${raw.trim().length}-digit number is too large`);
  return n;
}

export function parseOtpauthUri(uri: string): OtpauthInfo {
  const text = uri.trim();
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)\/?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/is.exec(text);
  if (!m) throw uriError('not a URI of the form otpauth://TYPE/LABEL?secret=...');
  const [, scheme = '', rawType = '', rawLabel = '', query = ''] = m;
  if (scheme.toLowerCase() !== 'otpauth') {
    throw uriError(`scheme must be "otpauth" (got ${JSON.stringify(scheme.slice(0, 20))})`);
  }
  const type = rawType.toLowerCase();
  if (type !== 'totp' && type !== 'hotp') {
    // Echo only a word: a mangled URI ("otpauth://totpsecret=...") would otherwise show part of the seed.
    const got = /^[a-z]{1,10}$/i.test(rawType) ? JSON.stringify(rawType) : 'something else';
    throw uriError(`type must be totp or hotp (got ${got})`);
  }

  const params = new Map<string, string>();
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq), 'a parameter name').toLowerCase();
    // '+' is a space in query strings; Base32 and numbers never contain one, issuers might.
    const value = decode((eq < 0 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '), `parameter "${key}"`);
    if (params.has(key)) {
      // Two secrets (or digit counts, ...) make the codes depend on which one a reader takes:
      // authenticator apps disagree, so the URI is ambiguous and refused (#14.9). No value is echoed.
      if (CODE_PARAMS.has(key)) throw uriError(`${key} is given more than once`, 'keep exactly one');
      continue; // issuer and unknown parameters: the first wins, as before
    }
    params.set(key, value);
  }

  const rawSecret = params.get('secret');
  if (rawSecret === undefined || rawSecret.trim() === '') throw uriError('secret is missing');
  const secret = field('secret', () => parseSecret(rawSecret));

  const alg = params.get('algorithm');
  const algorithm =
    alg === undefined
      ? 'sha1'
      : field('algorithm', () => checkAlgorithm(alg.toLowerCase().replace(/-/g, '')));
  const d = params.get('digits');
  const digits = d === undefined ? 6 : field('digits', () => checkDigits(intParam('digits', d)));
  const per = params.get('period');
  const period = per === undefined ? 30 : field('period', () => checkPeriod(intParam('period', per)));

  const info: OtpauthInfo = { type, secret, algorithm, digits, period };
  if (type === 'hotp') {
    const c = params.get('counter');
    if (c === undefined)
      throw uriError('counter is required for hotp', 'add &counter=0 (or the current count)');
    info.counter = field('counter', () => checkCounter(intParam('counter', c)));
  }

  const label = decode(rawLabel, 'label').trim();
  if (label) {
    info.label = label;
    const colon = label.indexOf(':');
    info.account = (colon < 0 ? label : label.slice(colon + 1)).trim();
    if (colon > 0) info.issuer = label.slice(0, colon).trim();
  }
  const issuer = params.get('issuer');
  if (issuer?.trim()) info.issuer = issuer.trim(); // the parameter wins over the label prefix
  return info;
}

/** Renders settings as a URI that authenticator apps (and parseOtpauthUri) accept. */
export function toOtpauthUri(info: OtpauthInfo): string {
  // Lone surrogates (not text) become U+FFFD rather than make encodeURIComponent throw.
  const enc = (v: string) => encodeURIComponent(v.replace(/\p{Cs}/gu, '\ufffd'));
  let label = '';
  if (info.account !== undefined) {
    label = info.issuer ? `${enc(info.issuer)}:${enc(info.account)}` : enc(info.account);
  } else if (info.label !== undefined) {
    label = enc(info.label).replace(/%3A/gi, ':');
  }
  const q = [`secret=${encodeBase32(info.secret)}`];
  if (info.issuer) q.push(`issuer=${enc(info.issuer)}`);
  q.push(`algorithm=${checkAlgorithm(info.algorithm).toUpperCase()}`);
  q.push(`digits=${checkDigits(info.digits)}`);
  if (info.type === 'hotp') q.push(`counter=${checkCounter(info.counter ?? 0)}`);
  else q.push(`period=${checkPeriod(info.period)}`);
  return `otpauth://${info.type}/${label}?${q.join('&')}`;
}
