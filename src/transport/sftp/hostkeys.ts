// SSH host-key trust: OpenSSH known_hosts files (plain, hashed, [host]:port, wildcards, negation,
// @revoked) and pinned "SHA256:..." fingerprints. Unknown or changed keys are refused, never accepted
// on first use: a backup client runs unattended, so nobody would see a TOFU warning.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { knownHostsPath } from '../../config/paths.js';
import type { TrustSettings } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';

/** "SHA256:base64-without-padding" of a raw SSH public key blob, as `ssh-keygen -l` prints it. */
export function fingerprintOf(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type ("ssh-ed25519", "rsa-sha2-..."-less "ssh-rsa", ...) stored at the start of a key blob. */
export function keyTypeOf(keyBlob: Uint8Array): string {
  const buf = Buffer.from(keyBlob);
  if (buf.length < 4) return 'unknown';
  const len = buf.readUInt32BE(0);
  if (len > buf.length - 4 || len > 64) return 'unknown';
  return buf.subarray(4, 4 + len).toString('latin1');
}

/** Accepts "SHA256:abc", "sha256:abc=", "abc" and returns the canonical "SHA256:abc". */
export function normalizeFingerprint(fp: string): string {
  const t = fp.trim();
  const body = t.toLowerCase().startsWith('sha256:') ? t.slice(7) : t;
  return `SHA256:${body.replace(/=+$/, '')}`;
}

/** The form of a pinned SSH fingerprint, as `ssh-keygen -l` prints it: SHA256 + 43 base64 characters. */
export const HOST_KEY_FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}=?$/;

/**
 * Checks fingerprints given on the command line (--host-key, --trust-host-key) before anything
 * connects: a mistyped pin must be a usage error (exit 2), not a refused server.
 */
export function checkHostKeyFlag(flag: string, values: readonly string[] | undefined): void {
  for (const v of values ?? []) {
    if (!HOST_KEY_FINGERPRINT.test(v.trim())) {
      throw new OtpBackupError(
        'usage',
        `${flag}: expected an SSH fingerprint "SHA256:" + 43 base64 characters, got "${v}"`,
        { hint: 'copy it from `ssh-keygen -lf KEY.pub` on the server, or from the "not trusted" error' },
      );
    }
  }
}

/** The name known_hosts uses for a host: "host" on port 22, "[host]:port" otherwise. */
export function hostLookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  key: Buffer;
}

/** Parses known_hosts text; malformed lines are skipped like OpenSSH does. */
export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').trim();
    if (!raw || raw.startsWith('#')) continue;
    const fields = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]?.startsWith('@')) {
      const m = fields.shift();
      if (m !== '@revoked' && m !== '@cert-authority') continue;
      marker = m;
    }
    const [patterns, keyType, b64] = fields;
    if (!patterns || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) continue;
    out.push({ file, line: i + 1, marker, patterns, keyType, key: Buffer.from(b64, 'base64') });
  }
  return out;
}

function wildcardToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function hashedMatches(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2] ?? '', 'base64');
  const want = Buffer.from(parts[3] ?? '', 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Whether a known_hosts host field ("a,b,!c", "|1|..|..", "[h]:p") names `host` on `port`. */
export function patternsMatch(patterns: string, host: string, port: number): boolean {
  const name = hostLookupName(host, port);
  if (patterns.startsWith('|')) return hashedMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (!p) continue;
    const negated = p.startsWith('!');
    const pat = negated ? p.slice(1) : p;
    if (wildcardToRegExp(pat).test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** known_hosts files consulted, in order: the account's own, otpbackup's, then ~/.ssh/known_hosts. */
export function knownHostsFiles(env: NodeJS.ProcessEnv, trust?: TrustSettings): string[] {
  const home = env.HOME || homedir();
  return [...(trust?.knownHosts ?? []), knownHostsPath(env), join(home, '.ssh', 'known_hosts')];
}

function readEntries(files: string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // a missing file simply trusts nothing
    }
    out.push(...parseKnownHosts(text, f));
  }
  return out;
}

export interface HostKeyCheck {
  host: string;
  port: number;
  env: NodeJS.ProcessEnv;
  trust?: TrustSettings;
  /** Extra pinned fingerprints, e.g. from --trust-host-key. */
  pinned?: string[];
}

export interface HostKeyVerdict {
  fingerprint: string;
  keyType: string;
  /** What vouched for the key: "pinned" or "FILE:LINE". */
  source: string;
}

/**
 * Verifies a server's host key blob. Returns how it was trusted, or throws naming the fingerprint and
 * what to do: OtpBackupError('trust') for an unknown key (the user may decide to trust it), and
 * OtpBackupError('trust-changed') for a changed or revoked one (a possible attack: never offered for
 * trust, and a distinct exit code so scripts can tell the two apart).
 */
export function verifyHostKey(keyBlob: Uint8Array, check: HostKeyCheck): HostKeyVerdict {
  const key = Buffer.from(keyBlob);
  const fingerprint = fingerprintOf(key);
  const keyType = keyTypeOf(key);
  const where = `${check.host}:${check.port}`;
  const entries = readEntries(knownHostsFiles(check.env, check.trust));

  const revoked = entries.find((e) => e.marker === '@revoked' && e.key.equals(key));
  if (revoked) {
    throw new OtpBackupError(
      'trust-changed',
      `host key ${fingerprint} of ${where} is marked @revoked in ${revoked.file}:${revoked.line}`,
      {
        hint: 'the server uses a key its administrator revoked; do not connect until they replace it',
      },
    );
  }

  const pins = [...(check.trust?.hostKeys ?? []), ...(check.pinned ?? [])].map(normalizeFingerprint);
  if (pins.includes(fingerprint)) return { fingerprint, keyType, source: 'pinned' };
  if (pins.length) {
    // The account's own pin is the strongest statement of identity there is: another key is a
    // changed identity (a possible attack), exactly like a known_hosts mismatch — never an
    // "unknown" key, and the hint must not offer the presented key for trust (#14.9).
    throw new OtpBackupError(
      'trust-changed',
      `WARNING: HOST KEY OF ${where} HAS CHANGED: the account pins ${pins.join(', ')}, the server sent ${keyType} ${fingerprint}`,
      {
        hint: "someone may be intercepting the connection, or the server's key was replaced; do not connect until its administrator confirms the new fingerprint out of band, then replace the pin (trust.hostKeys, or --host-key for upload)",
      },
    );
  }

  const forHost = entries.filter((e) => !e.marker && patternsMatch(e.patterns, check.host, check.port));
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { fingerprint, keyType, source: `${same.file}:${same.line}` };

  const changed = forHost.find((e) => e.keyType === keyType);
  if (changed) {
    throw new OtpBackupError(
      'trust-changed',
      `WARNING: HOST KEY OF ${where} HAS CHANGED: ${changed.file}:${changed.line} holds ${fingerprintOf(changed.key)}, the server sent ${keyType} ${fingerprint}`,
      {
        hint: `someone may be intercepting the connection, or the server was reinstalled; confirm ${fingerprint} with its administrator, then remove the old entry (ssh-keygen -R "${hostLookupName(check.host, check.port)}" -f ${changed.file}) and run again with --trust-host-key ${fingerprint}`,
      },
    );
  }

  const others = forHost.length
    ? ` (known_hosts holds only ${[...new Set(forHost.map((e) => e.keyType))].join(', ')} keys for it)`
    : '';
  throw new OtpBackupError(
    'trust',
    `host key of ${where} is not trusted: ${keyType} ${fingerprint}${others}`,
    {
      hint: `check the fingerprint with the server's administrator, then run again with --trust-host-key ${fingerprint} (upload: --host-key ${fingerprint}), or add it to the account's trust.hostKeys`,
    },
  );
}

/** A known_hosts line for the key, host name in the form OpenSSH writes it. */
export function knownHostsLine(host: string, port: number, keyBlob: Uint8Array): string {
  return `${hostLookupName(host, port)} ${keyTypeOf(keyBlob)} ${Buffer.from(keyBlob).toString('base64')}`;
}
