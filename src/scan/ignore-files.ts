// Pattern files for `upload`: `--exclude-from FILE` (one gitignore pattern per line) and a
// `.otpbackupignore` at the top of each source directory, as `.gitignore` and rclone's
// `--exclude-from` read them: blank lines and lines starting with "#" are skipped.
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { usageError } from '../errors.js';

export const IGNORE_FILE = '.otpbackupignore';

function patterns(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/\s+$/, ''))
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The patterns of each --exclude-from file; a missing one is a usage error naming it. */
export async function readPatternFiles(files: string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      out.push(...patterns(await readFile(resolve(cwd, f), 'utf8')));
    } catch (e) {
      throw usageError(`--exclude-from: cannot read ${f} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
  }
  return out;
}

/**
 * Patterns of `.otpbackupignore` in each source directory, made relative to the job's tree: with
 * several sources each one's files sit below its base name, so anchored patterns get that prefix
 * (unanchored ones match at any depth anyway). The ignore file itself is never sent.
 */
export async function ignoreFilePatterns(sources: string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  for (const src of sources) {
    const dir = resolve(cwd, src);
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) continue;
    const text = await readFile(join(dir, IGNORE_FILE), 'utf8').catch(() => undefined);
    const prefix = sources.length > 1 ? basename(dir) : '';
    const anchor = (p: string) => {
      const neg = p.startsWith('!') ? '!' : '';
      const body = neg ? p.slice(1) : p;
      const anchored = body.startsWith('/') || body.slice(0, -1).includes('/');
      if (!prefix || !anchored) return p;
      return `${neg}/${prefix}/${body.replace(/^\//, '')}`;
    };
    out.push(`${prefix ? `/${prefix}` : ''}/${IGNORE_FILE}`);
    if (text !== undefined) out.push(...patterns(text).map(anchor));
  }
  return out;
}
