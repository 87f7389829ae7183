// What a tool really put on the server: files and bytes below a directory of a server home.
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Landed } from './context.js';

export async function countTree(dir: string): Promise<Landed> {
  let files = 0;
  let bytes = 0;
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        files++;
        bytes += (await lstat(p)).size;
      }
    }
  };
  await walk(dir);
  return { files, bytes };
}

/** Counts what landed in dir, checks it against `want`, removes dir. */
export async function checkAndRemove(tool: string, dir: string, want: Landed): Promise<Landed> {
  let got: Landed;
  try {
    got = await countTree(dir);
  } catch (e) {
    throw new Error(`${tool}: nothing landed in ${dir} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  await rm(dir, { recursive: true, force: true });
  if (got.files !== want.files || got.bytes !== want.bytes) {
    throw new Error(
      `${tool}: ${got.files} files / ${got.bytes} bytes landed, expected ${want.files} / ${want.bytes}`,
    );
  }
  return got;
}
