// FTP error mapping: basic-ftp replies (FTPError codes), socket and TLS errors to OtpBackupError,
// with the retry flag the retry policy (../retry.ts) reads, and the connect errors reach.ts names.
import { FTPError } from 'basic-ftp';
import { isOtpBackupError, OtpBackupError } from '../../errors.js';
import { redact } from '../../secrets/redact.js';

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
/** Socket errors of the connect itself (TLS and reset errors keep their own classification). */
export const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
]);
const LOCAL_CODES = new Set(['ENOENT', 'EACCES', 'EISDIR', 'EPERM', 'EMFILE', 'ENFILE']);
const TLS_TRUST_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_\w+)$/;

/**
 * Maps basic-ftp, socket and TLS errors to OtpBackupError naming `what` failed against `where`.
 * `login`: a 530 means the login of `user` was refused (else a dropped session, retryable).
 */
export function classifyFtpError(
  e: unknown,
  what: string,
  at: { where: string; user: string; login?: boolean },
): OtpBackupError {
  const { where, user, login = false } = at;
  if (isOtpBackupError(e)) return e;
  if (e instanceof FTPError) {
    const text = redact(e.message.replace(/\s+/g, ' ').trim()).slice(0, 200);
    if (e.code === 530 && login) {
      return new OtpBackupError(
        'auth',
        `${where} refused the login of user "${user}" (${text})`,
        // No hint: loginWithDiscipline adds the full one (password, seed, template, clock).
        { cause: e },
      );
    }
    if (e.code === 530 || e.code === 421 || e.code === 425 || e.code === 426) {
      return new OtpBackupError('network', `${what}: ${text}`, {
        cause: e,
        retryable: true,
        hint: 'the server closed the session',
      });
    }
    if (e.code === 450 || e.code === 451) {
      return new OtpBackupError('remote', `${what}: ${text}`, {
        cause: e,
        retryable: true,
        hint: 'a temporary server-side failure; run again',
      });
    }
    if (e.code === 452 || e.code === 552) {
      return new OtpBackupError('remote', `${what}: ${text}`, {
        cause: e,
        hint: 'the server is out of space or over quota',
      });
    }
    return new OtpBackupError('remote', `${what}: ${text}`, {
      cause: e,
      hint: 'the server refused the operation; check the path and permissions',
    });
  }
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  const msg = redact(err?.message ?? String(e));
  if (TLS_TRUST_CODES.test(code)) {
    return new OtpBackupError('trust', `${what}: certificate not trusted (${code})`, {
      cause: e,
      hint: 'set trust.ca or pin trust.tlsFingerprints',
    });
  }
  if (/\(data socket\)/.test(msg) && !TLS_TRUST_CODES.test(code)) {
    // The control session is fine; a broken data connection is worth a reconnect and a retry.
    return new OtpBackupError('network', `${what}: data connection failed (${msg})`, {
      cause: e,
      retryable: true,
    });
  }
  if (
    NETWORK_CODES.has(code) ||
    /timeout|socket hang up|closed|closing connection|FIN packet|ended by the other party/i.test(msg)
  ) {
    return new OtpBackupError('network', `${what}: ${msg}`, {
      cause: e,
      retryable: true,
      hint: `check that ${where} is reachable`,
    });
  }
  if (err?.syscall && LOCAL_CODES.has(code) && err.path) {
    return new OtpBackupError('local', `${what}: ${msg}`, { cause: e });
  }
  if (code === 'EPROTO' || /SSL|TLS/.test(code) || /wrong version number|handshake/i.test(msg)) {
    return new OtpBackupError('remote', `${what}: TLS failed (${msg})`, {
      cause: e,
      hint: 'check the protocol: ftps (explicit, usually port 21) or ftps-implicit (usually port 990)',
    });
  }
  if (/control characters/i.test(msg)) {
    return new OtpBackupError('usage', `${what}: a name contains CR, LF or NUL`, { cause: e });
  }
  return new OtpBackupError('remote', `${what}: ${msg}`, { cause: e });
}
