// SFTP transfer knobs with measured defaults, overridable from the environment for A/B runs of the
// bench (BENCH_VARIANTS) and for diagnosing a slow server. Not part of the config: the defaults are
// what the bench found best on ProFTPD and OpenSSH sshd; a wrong value fails with one line.
import { OtpBackupError } from '../errors.js';

export interface SftpTuning {
  /** SFTP channels (sessions) opened on the one SSH connection; sshd runs one sftp-server each. */
  channels: number;
  /** Bytes per WRITE / READ request (capped by the server's limits@openssh.com lengths). */
  chunk: number;
  /** WRITE / READ requests in flight per file. */
  requests: number;
  /** Cipher offered first (else ssh2's order: AES-GCM where the CPU has AES-NI). */
  cipher?: string;
}

export const SFTP_DEFAULTS: SftpTuning = { channels: 1, chunk: 32 * 1024, requests: 64 };

function int(env: NodeJS.ProcessEnv, name: string, min: number, max: number, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new OtpBackupError('config', `${name}: expected a whole number from ${min} to ${max}, got "${v}"`, {
      hint: `unset ${name} to use the default (${dflt})`,
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
  if (cipher && !CIPHERS.includes(cipher))
    throw new OtpBackupError(
      'config',
      `OTPBACKUP_SFTP_CIPHER: "${cipher}" is not one of ${CIPHERS.join(', ')}`,
    );
  return {
    channels: int(env, 'OTPBACKUP_SFTP_CHANNELS', 1, 16, SFTP_DEFAULTS.channels),
    chunk: int(env, 'OTPBACKUP_SFTP_CHUNK', 1024, 1024 * 1024, SFTP_DEFAULTS.chunk),
    requests: int(env, 'OTPBACKUP_SFTP_REQUESTS', 1, 1024, SFTP_DEFAULTS.requests),
    ...(cipher ? { cipher } : {}),
  };
}
