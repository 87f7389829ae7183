// Target URLs for `upload --to` and `account add --url`:
//   ftp://user@host:port/dir   plain FTP
//   ftpes://…                  explicit FTPS (AUTH TLS)
//   ftps://…                   implicit FTPS
//   sftp://…                   SFTP
// The path is absolute; /~/dir is relative to the login directory.
// A password in the URL is refused: it would sit in argv, readable by any user.
//
// The path, one rule per scheme (docs/design-decisions.md, "Remote paths"):
//   every scheme   no path, "/" or "/~"    the login directory
//                  "/~/dir"                dir below the login directory
//                  "//dir" or "/%2Fdir"    /dir from the server's root
//   ftp, ftpes, ftps  "/dir"             dir below the login directory (RFC 1738)
//   sftp              "/dir"             the absolute path /dir (as curl and WinSCP read it)
// The result is a remote directory as the config holds it: "." for the login directory, a relative
// path below it, or an absolute path.
import { posix } from 'node:path';
import { usageError } from '../errors.js';
import type { Protocol } from './types.js';

export interface TargetUrl {
  protocol: Protocol;
  host: string;
  port: number;
  user: string;
  /** Config form: "." (the login directory), a path relative to it, or an absolute path. */
  remoteDir: string;
  /** The URL names a directory (its path is more than "" or "/"). */
  hasPath: boolean;
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
    remoteDir = remoteDirOfUrlPath(scheme.protocol, u.pathname);
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
    remoteDir,
    hasPath: u.pathname !== '' && u.pathname !== '/',
  };
}

/** A URL's (still percent-encoded) path as a config remote directory, by the rules at the top. */
export function remoteDirOfUrlPath(protocol: Protocol, encodedPath: string): string {
  if (encodedPath === '' || encodedPath === '/') return '.';
  const rest = encodedPath.slice(1); // the "/" that ends the host part
  // "%2F" (RFC 1738) or an empty first segment: from the server's root.
  if (rest.startsWith('/') || /^%2f/i.test(rest)) return tidy(decodeURIComponent(rest));
  const path = decodeURIComponent(rest);
  if (path === '~' || path.startsWith('~/')) return tidy(path.slice(2) || '.');
  return tidy(protocol === 'sftp' ? `/${path}` : path);
}

function tidy(path: string): string {
  const n = posix.normalize(path);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * The URL path for a config remote directory (the inverse of remoteDirOfUrlPath), e.g. to show a user
 * how to write it: "." -> "/", "site" -> "/site" (FTP) or "/~/site" (SFTP), "/srv" -> "//srv" (FTP).
 */
export function urlPathOfRemoteDir(protocol: Protocol, remoteDir: string): string {
  const d = tidy(remoteDir);
  const enc = (p: string) => p.split('/').map(encodeURIComponent).join('/');
  if (d === '.' || d === '~') return '/';
  const rel = d.startsWith('~/') ? d.slice(2) : d;
  // A lone "/" would read as the login directory: the server's root is "//" for every scheme.
  if (rel.startsWith('/')) return protocol === 'sftp' && rel !== '/' ? enc(rel) : `/${enc(rel)}`;
  return protocol === 'sftp' ? `/~/${enc(rel)}` : `/${enc(rel)}`;
}
