// Target URLs for `upload --to` and `account add --url`:
//   ftp://user@host:port/dir   plain FTP
//   ftpes://…                  explicit FTPS (AUTH TLS)
//   ftps://…                   implicit FTPS
//   sftp://…                   SFTP
// The path is absolute; /~/dir is relative to the login directory.
// A password in the URL is refused: it would sit in argv, readable by any user.
import { usageError } from '../errors.js';
import type { Protocol } from './types.js';

export interface TargetUrl {
  protocol: Protocol;
  host: string;
  port: number;
  user: string;
  remoteDir: string;
}

/** The one place the default ports are written (schema.ts and save.ts use this too). */
export function defaultPort(protocol: Protocol): number {
  return protocol === 'sftp' ? 22 : protocol === 'ftps-implicit' ? 990 : 21;
}

const schemes: Record<string, { protocol: Protocol; port: number }> = {
  'ftp:': { protocol: 'ftp', port: defaultPort('ftp') },
  'ftpes:': { protocol: 'ftps', port: defaultPort('ftps') },
  'ftps:': { protocol: 'ftps-implicit', port: defaultPort('ftps-implicit') },
  'sftp:': { protocol: 'sftp', port: defaultPort('sftp') },
};

export function parseTargetUrl(text: string, flag = '--to'): TargetUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usageError(
      `${flag}: not a URL: ${JSON.stringify(text.slice(0, 200))}`,
      'use e.g. sftp://user@host:22/backups',
    );
  }
  const scheme = schemes[u.protocol];
  if (!scheme) {
    throw usageError(
      `${flag}: unsupported scheme "${u.protocol.replace(/:$/, '')}"`,
      'use ftp://, ftpes:// (explicit TLS), ftps:// (implicit TLS) or sftp://',
    );
  }
  if (u.password) {
    throw usageError(
      `${flag}: the URL contains a password`,
      'pass it with --password-env VAR instead; argv is visible to every user',
    );
  }
  // sftp:// may leave the user to ~/.ssh/config (User) or the local login name, as `sftp host` does.
  if (!u.username && scheme.protocol !== 'sftp')
    throw usageError(`${flag}: the URL has no user name`, 'write it as ftp://user@host/dir');
  if (!u.hostname) throw usageError(`${flag}: the URL has no host`, 'write it as sftp://user@host/dir');
  if (u.search || u.hash) throw usageError(`${flag}: query strings and fragments are not supported`);
  const port = u.port ? Number(u.port) : scheme.port;
  let remoteDir: string;
  let user: string;
  try {
    remoteDir = decodeURIComponent(u.pathname || '/');
    user = decodeURIComponent(u.username);
  } catch {
    throw usageError(`${flag}: bad percent-encoding in the URL`);
  }
  if (/[\r\n\0]/.test(remoteDir) || /[\r\n\0]/.test(user)) {
    throw usageError(`${flag}: the URL contains a control character (CR, LF or NUL)`);
  }
  // "/~" and "/~/dir" name the login (home) directory and a path below it, as curl, lftp and the SFTP
  // URI draft read them; taken literally they would be a directory "~" at the server's root.
  if (remoteDir === '/~' || remoteDir.startsWith('/~/')) remoteDir = remoteDir.slice(3) || '.';
  return {
    protocol: scheme.protocol,
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    user,
    remoteDir: remoteDir === '' ? '/' : remoteDir,
  };
}
