// SFTP transfer knobs with measured defaults, overridable from the environment for A/B runs of the
// bench (BENCH_VARIANTS) and for diagnosing a slow server. Not part of the config: the defaults are
// what the bench found best on ProFTPD and OpenSSH sshd; a wrong value fails with one line.
import { OtpBackupError } from '../../errors.js';

export interface SftpTuning {
  /** SFTP channels (sessions) opened on the one SSH connection; sshd runs one sftp-server each.
   *  Undefined: 4 on OpenSSH (one process per channel spreads the work), 1 elsewhere (ProFTPD
   *  serves every channel of a session from one process: more channels only cost). */
  channels?: number;
  /** Bytes per WRITE / READ request (capped by the server's limits@openssh.com lengths). */
  chunk: number;
  /** WRITE / READ requests in flight per file; undefined: IN_FLIGHT_BYTES / chunk, at most 64. */
  requests?: number;
  /** Cipher offered first (else ssh2's order: AES-GCM where the CPU has AES-NI). */
  cipher?: string;
  /** Gather the SSH packets written in one tick into one socket write (writev). */
  cork: boolean;
}

/**
 * Measured A/B in one process (docs/design-decisions.md, "SFTP speed"): 255 KiB requests (what
 * OpenSSH's sftp-server accepts, limits@openssh.com) cost 40 % less client CPU per MiB than 32 KiB
 * ones; ssh2 caps them at 31,952 bytes on other servers. Corking cuts the write syscalls.
 */
export const SFTP_DEFAULTS: SftpTuning = { chunk: 261_120, cork: true };
/** Bytes of READs/WRITEs in flight per file: the 2 MiB channel window sshd and ssh2 announce
 *  (64 x 32 KiB, OpenSSH sftp's depth, as before; more only waits in ssh2's buffers). */
export const IN_FLIGHT_BYTES = 2 * 1024 * 1024;
/** Channels on an OpenSSH server unless OTPBACKUP_SFTP_CHANNELS says otherwise. */
export const OPENSSH_CHANNELS = 4;

/** Requests in flight per file for requests of `chunk` bytes. */
export function requestsFor(t: SftpTuning, chunk: number): number {
  return t.requests ?? Math.max(1, Math.min(64, Math.floor(IN_FLIGHT_BYTES / chunk)));
}

/** Channels to open on a server that says `ident` ("OpenSSH_9.2p1", the software part of its ident). */
export function channelsFor(t: SftpTuning, ident: string | undefined): number {
  return t.channels ?? (/^(SSH-2\.0-)?OpenSSH_/.test(ident ?? '') ? OPENSSH_CHANNELS : 1);
}

function int(env: NodeJS.ProcessEnv, name: string, min: number, max: number, dflt?: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt ?? min;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new OtpBackupError('config', `${name}: expected a whole number from ${min} to ${max}, got "${v}"`, {
      hint: `unset ${name} to use the default${dflt === undefined ? '' : ` (${dflt})`}`,
    });
  return n;
}

/** The sound ciphers ssh2 speaks (the legacy ones stay refused, see ssh-algorithms.ts). */
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes192-ctr',
  'aes256-ctr',
];

export function sftpTuning(env: NodeJS.ProcessEnv): SftpTuning {
  const cipher = env.OTPBACKUP_SFTP_CIPHER || undefined;
  const given = (name: string, min: number, max: number) =>
    env[name] ? int(env, name, min, max) : undefined;
  const channels = given('OTPBACKUP_SFTP_CHANNELS', 1, 16);
  const requests = given('OTPBACKUP_SFTP_REQUESTS', 1, 1024);
  if (cipher && !CIPHERS.includes(cipher))
    throw new OtpBackupError(
      'config',
      `OTPBACKUP_SFTP_CIPHER: "${cipher}" is not one of ${CIPHERS.join(', ')}`,
    );
  return {
    ...(channels === undefined ? {} : { channels }),
    ...(requests === undefined ? {} : { requests }),
    chunk: int(env, 'OTPBACKUP_SFTP_CHUNK', 1024, 1024 * 1024, SFTP_DEFAULTS.chunk),
    cork: int(env, 'OTPBACKUP_SFTP_CORK', 0, 1, SFTP_DEFAULTS.cork ? 1 : 0) === 1,
    ...(cipher ? { cipher } : {}),
  };
}

/** ProFTPD mod_sftp's READ/WRITE lengths: it sends no limits@openssh.com, and ssh2 then assumes
 *  31,952 bytes; ProFTPD 1.3.8 takes 255 KiB requests (64 MiB A/B: 951 → 523 ms of client CPU). */
const MOD_SFTP_MAX_LEN = 261_120;

/**
 * Raises ssh2's idea of the request lengths for a server known to take more than ssh2 assumes
 * without limits@openssh.com (`software`: "mod_sftp" for ProFTPD). ssh2 splits a longer request
 * into pieces sent one after the other, so the cap must be right on the wrapper itself.
 */
export function raiseLimits(sftp: object, software: string | undefined): void {
  const s = sftp as { _extensions?: Record<string, string>; _maxWriteLen?: number; _maxReadLen?: number };
  if (s._extensions?.['limits@openssh.com'] !== undefined) return; // the server said its own
  if (!/^mod_sftp\b/.test(software ?? '')) return;
  s._maxWriteLen = Math.max(s._maxWriteLen ?? 0, MOD_SFTP_MAX_LEN);
  s._maxReadLen = Math.max(s._maxReadLen ?? 0, MOD_SFTP_MAX_LEN);
}

/**
 * ssh2 writes every SSH packet to the socket on its own (a WRITE of 32 KiB is two packets, each a
 * syscall under TCP_NODELAY). Corking on the first write of a tick and uncorking on the next hands
 * all of them to one writev.
 */
export function corkPerTick(sock: NodeJS.WritableStream & { cork(): void; uncork(): void }): void {
  const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  (sock as { write: unknown }).write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}
