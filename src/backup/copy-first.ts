// copyFirst (#14.1): for files that are rewritten often (mailboxes, VM images, small databases),
// copy the file locally first — a local copy takes a fraction of an upload's time, so it is far
// more likely to see the file at rest — and upload the copy. A copy counts only when the file's
// metadata is the same before and after it; otherwise it is tried again, a few times.
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsPath } from '../scan/raw-name.js';
import { metaOf, sameMeta } from '../scan/scan.js';
import type { FileMeta } from '../scan/types.js';

/** Copies made while the file kept changing are given up after this many. */
export const COPY_TRIES = 3;

export interface StableCopy {
  /** The private copy to upload. */
  path: string;
  /** The source's metadata the copy matches (what is recorded once it is sent). */
  meta: FileMeta;
}

/**
 * Copies `abs` into `dir` (private to this run) under `name`; undefined when every try saw the file
 * change during the copy. FICLONE: a reflink (instant, no space) where the file system offers it.
 */
export async function stableCopy(
  abs: string,
  dir: string,
  name: string,
  statFile: (p: string) => Promise<BigIntStats>,
): Promise<StableCopy | undefined> {
  const path = join(dir, name);
  for (let i = 0; i < COPY_TRIES; i++) {
    const before = metaOf(await statFile(abs));
    await copyFile(fsPath(abs), path, constants.COPYFILE_FICLONE);
    const after = metaOf(await statFile(abs));
    if (sameMeta(before, after)) return { path, meta: before };
  }
  await rm(path, { force: true });
  return undefined;
}
