// Remote path helpers shared by the FTP and SFTP transports: POSIX joins, validation that
// refuses control characters before anything reaches the wire.
import { posix } from 'node:path';
import { OtpBackupError } from '../errors.js';

/** Control characters that would split an FTP command or corrupt an SFTP path. */
const FORBIDDEN = /[\r\n\0]/;

/** ".." as a component when "\\" counts as a separator too (only where a backslash is involved). */
export const BACKSLASH_DOTDOT = /(?:^|[/\\])\.\.\\|\\\.\.(?:[/\\]|$)/;

/**
 * Throws OtpBackupError('usage') when `path` contains CR, LF or NUL, or ".." next to a backslash;
 * called before any command is sent.
 */
export function validateRemotePath(path: string, what = 'remote path'): string {
  const m = FORBIDDEN.exec(path);
  if (m) {
    const ch = m[0] === '\r' ? 'CR' : m[0] === '\n' ? 'LF' : 'NUL';
    throw new OtpBackupError('usage', `${what} ${JSON.stringify(path)} contains a ${ch} character`, {
      hint: 'rename the file: names with CR, LF or NUL cannot be sent safely to the server',
    });
  }
  if (path === '') throw new OtpBackupError('usage', `${what} is empty`);
  // A backslash is an ordinary character in a POSIX name, but Windows servers take it as a separator:
  // "..\\x" there would leave the job's directory. Such a name has no innocent use; refuse it.
  if (BACKSLASH_DOTDOT.test(path)) {
    throw new OtpBackupError('usage', `${what} ${JSON.stringify(path)} contains ".." between backslashes`, {
      hint: 'rename the file: a Windows server would read it as a way out of the backup directory',
    });
  }
  return path;
}

/**
 * Normalises to a POSIX path without trailing slash ("/" stays "/"; relative stays relative).
 * Backslashes stay as they are: in a file name they are characters, and turning them into "/" would
 * let a local file named "..\\..\\x" climb out of the job's remote directory.
 */
export function normalize(path: string): string {
  const n = posix.normalize(path);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/**
 * The absolute path on the server for a remote path as jobs and accounts hold it: absolute paths stay,
 * "~", "~/x" and relative paths are below `home`, the login directory (FTP PWD or SFTP REALPATH "."
 * after login). Without a known home the path stays relative ("~" dropped): servers resolve relative
 * paths against the login directory themselves.
 */
export function resolveRemote(path: string, home: string | undefined): string {
  const rel = path === '~' ? '.' : path.startsWith('~/') ? path.slice(2) || '.' : path;
  if (rel.startsWith('/')) return normalize(rel);
  return home ? join(home, rel) : normalize(rel);
}

export function join(...parts: string[]): string {
  return normalize(posix.join(...parts));
}

export function dirname(path: string): string {
  return posix.dirname(normalize(path));
}

export function basename(path: string): string {
  return posix.basename(normalize(path));
}

/** Each ancestor of `dir` from the top down, ending with `dir` itself ("/a/b" -> ["/a", "/a/b"]). */
export function ancestors(dir: string): string[] {
  const n = normalize(dir);
  const abs = n.startsWith('/');
  const parts = n.split('/').filter((p) => p !== '' && p !== '.');
  const out: string[] = [];
  let cur = abs ? '' : '.';
  for (const p of parts) {
    cur = abs ? `${cur}/${p}` : cur === '.' ? p : `${cur}/${p}`;
    out.push(cur);
  }
  return out;
}

// Temp names moved to temp.ts (with their cleanup); re-exported for the transports' imports.
export { isTempName, STALE_TEMP_MS, tempNameCreatedAt, tempPathFor } from './temp.js';
