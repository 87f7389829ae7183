// file:PATH — the secret is the content of a file that only its owner may read (like ssh keys).
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OtpBackupError } from '../errors.js';
import type { SecretStore } from './types.js';

/** Expands a leading `~` or `~/` to HOME; other paths are returned unchanged. */
export function expandHome(path: string, env: NodeJS.ProcessEnv): string {
  if (path === '~') return env.HOME || homedir();
  if (path.startsWith('~/')) return join(env.HOME || homedir(), path.slice(2));
  return path;
}

export class FileStore implements SecretStore {
  readonly scheme = 'file';
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async get(key: string): Promise<string | undefined> {
    const path = expandHome(key, this.env);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new OtpBackupError('secret', `cannot read secret file ${path}: ${code ?? (e as Error).message}`, {
        hint: 'check the path and its permissions',
      });
    }
    try {
      // Checked on the opened file, so a swap between check and read cannot slip through.
      const st = await fh.stat();
      if (!st.isFile()) throw new OtpBackupError('secret', `secret file ${path} is not a regular file`);
      if (st.mode & 0o077) {
        throw new OtpBackupError(
          'secret',
          `secret file ${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)})`,
          { hint: `run: chmod 600 ${path}` },
        );
      }
      const text = await fh.readFile('utf8');
      // One trailing newline is what editors and `echo` add; it is not part of the secret.
      const value = text.replace(/\r?\n$/, '');
      return value === '' ? undefined : value;
    } finally {
      await fh.close();
    }
  }
}
