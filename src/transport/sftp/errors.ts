// What the SFTP server's and ssh2's numbers mean: SFTP status codes and ssh2 connection errors as
// OtpBackupError (with the retry flag the retry policy, ../retry.ts, reads), file modes as entry types.
import { OtpBackupError } from '../../errors.js';
import type { RemoteEntry } from '../types.js';
import { downgradeError } from './ssh-algorithms.js';

// SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks).
export const SFTP_NO_SUCH_FILE = 2;
export const SFTP_PERMISSION_DENIED = 3;
const SFTP_NO_CONNECTION = 6;
const SFTP_CONNECTION_LOST = 7;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export type SshError = Error & { level?: string; code?: number | string };

export function entryType(mode: number): RemoteEntry['type'] {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return 'dir';
    case S_IFREG:
      return 'file';
    case S_IFLNK:
      return 'link';
    default:
      return 'other';
  }
}

/** Maps an SFTP/ssh2 error to an OtpBackupError naming the operation and the path. */
export function classifySftpError(e: unknown, what: string): OtpBackupError {
  if (e instanceof OtpBackupError) return e;
  const err = e as SshError;
  const msg = err?.message ?? String(e);
  if (err?.code === SFTP_NO_SUCH_FILE) {
    return new OtpBackupError('remote', `${what}: no such file or directory`, {
      cause: e,
      hint: 'check the remote directory exists and is spelled right',
    });
  }
  if (err?.code === SFTP_PERMISSION_DENIED) {
    return new OtpBackupError('remote', `${what}: permission denied`, {
      cause: e,
      hint: 'the server account may not write there; check its permissions',
    });
  }
  if (
    err?.code === SFTP_NO_CONNECTION ||
    err?.code === SFTP_CONNECTION_LOST ||
    err?.code === 'ECONNRESET' ||
    err?.code === 'ETIMEDOUT' ||
    err?.code === 'EPIPE' ||
    /no response from server|not connected|channel (is )?(not open|closed)|connection (lost|reset)|keepalive|timed out/i.test(
      msg,
    )
  ) {
    return new OtpBackupError('network', `${what}: connection lost (${msg})`, {
      cause: e,
      retryable: true,
      hint: 'the network or the server dropped the connection',
    });
  }
  return new OtpBackupError('remote', `${what}: ${msg}`, { cause: e });
}

/** The errno-ish reason of a local write failure, for messages. */
export function writeFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' ? 'the disk is full' : (code ?? (e as Error).message);
}

/** Maps an ssh2 connection error (its `level`) to an OtpBackupError for `where`. */
export function connectError(e: SshError, where: string): OtpBackupError {
  const level = e.level ?? '';
  if (level === 'client-authentication') {
    return new OtpBackupError('auth', `${where} refused the login`);
  }
  if (level === 'client-timeout') {
    return new OtpBackupError('network', `${where}: timed out waiting for the SSH handshake`, {
      retryable: true,
      hint: 'check the host and port, or raise the account timeout',
    });
  }
  if (level === 'handshake') {
    const downgrade = downgradeError(e.message, where);
    if (downgrade) return downgrade;
    return new OtpBackupError('network', `${where}: SSH handshake failed: ${e.message}`, {
      retryable: false,
    });
  }
  const code = typeof e.code === 'string' ? e.code : '';
  const hint =
    code === 'ECONNREFUSED'
      ? 'is the server running and is the port right?'
      : code === 'ENOTFOUND'
        ? 'check the host name'
        : undefined;
  return new OtpBackupError('network', `${where}: ${code || e.message}`, {
    retryable: code !== 'ENOTFOUND',
    hint,
  });
}
