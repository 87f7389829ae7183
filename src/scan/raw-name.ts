// Names whose bytes are not UTF-8 (#14.2): a Latin-1 "r\xe9sum\xe9.txt" on a UTF-8 system.
//
// Such a name is carried through otpbackup as a string in which each byte that is not part of a
// valid UTF-8 sequence is a lone surrogate U+DC80–U+DCFF (Python's "surrogateescape", PEP 383).
// Valid UTF-8 never decodes to a lone surrogate, so the mapping is reversible and unambiguous:
// rawBytes(decodeRaw(b)) equals b for every byte string b. JSON keeps lone surrogates as "\udce9"
// escapes, so manifest and journal keys stay exact. Local I/O turns such a path back into a Buffer
// (fsPath); FTP writes it as bytes on the control connection; what cannot carry bytes (ssh2 writes
// every SFTP path as UTF-8) refuses it up front (Transport.rawNames).
import { isUtf8 } from 'node:buffer';
import type { ScanResult } from './types.js';

/** A lone low surrogate of the escape range (not the second half of a surrogate pair). */
const LONE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;
const LONE_G = /(?<![\ud800-\udbff])[\udc80-\udcff]/g;

/** Whether `s` holds bytes that are not UTF-8 (escaped as lone surrogates). */
export function hasRawBytes(s: string): boolean {
  return LONE.test(s);
}

/** Decodes a name: valid UTF-8 as text, every other byte as U+DC00 + byte. */
export function decodeRaw(b: Buffer): string {
  if (isUtf8(b)) return b.toString('utf8');
  let out = '';
  let i = 0;
  while (i < b.length) {
    let n = 0;
    // The longest valid UTF-8 sequence starting at i (1–4 bytes); a lead byte is ASCII or ≥ 0xC0.
    if (b[i]! < 0x80) n = 1;
    else if (b[i]! >= 0xc0)
      for (let len = Math.min(4, b.length - i); len >= 2; len--)
        if (isUtf8(b.subarray(i, i + len))) {
          n = len;
          break;
        }
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b[i]!);
      i++;
    } else {
      out += b.toString('utf8', i, i + n);
      i += n;
    }
  }
  return out;
}

/** The bytes of a string as decodeRaw made it: UTF-8, with each escaped byte as itself. */
export function rawBytes(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(LONE_G)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.of(m[0].charCodeAt(0) - 0xdc00));
    last = m.index + 1;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

/** A path for node:fs: the string itself, or its bytes when it holds escaped ones. */
export function fsPath(s: string): string | Buffer {
  return hasRawBytes(s) ? rawBytes(s) : s;
}

/** How such a name is shown in messages and logs: each escaped byte as \xNN. */
export function showRaw(s: string): string {
  return hasRawBytes(s)
    ? s.replace(LONE_G, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16).padStart(2, '0')}`)
    : s;
}

/** Why a file is not sent where names must be UTF-8. */
export const RAW_NAME_REFUSED =
  'name is not valid UTF-8, and SFTP here sends UTF-8 names only (the ssh2 library), so it is not sent (never under another name): rename it (e.g. convmv -f latin1 -t utf8), or back it up over FTP';

/**
 * For a protocol that cannot carry such names: files to send whose path holds bytes that are not
 * UTF-8 become `bad-name` problems (failures, exit 3), every run until renamed. Idempotent.
 */
export function refuseRawNames(s: ScanResult): ScanResult {
  const raw = (f: { rel: string }) => hasRawBytes(f.rel);
  if (!s.added.some(raw) && !s.changed.some(raw) && !s.touched.some(raw)) return s;
  const problems = [...s.problems];
  for (const f of [...s.added, ...s.changed, ...s.touched].filter(raw))
    problems.push({ path: showRaw(f.abs), kind: 'bad-name', reason: RAW_NAME_REFUSED });
  const keep = (f: { rel: string }) => !raw(f);
  return {
    ...s,
    added: s.added.filter(keep),
    changed: s.changed.filter(keep),
    touched: s.touched.filter(keep),
    problems,
  };
}

/** Whether a protocol carries such names as bytes: FTP does (see sendRawNames in transport/ftp/transport.ts);
 *  SFTP could, but ssh2 writes every path as UTF-8. */
export function carriesRawNames(protocol: string): boolean {
  return protocol !== 'sftp';
}
