// Test data in the bench's temp dir. Content is random (incompressible) but cheap: one random pool,
// each 1 MiB block taken at a different offset and stamped with its index, so no two blocks match.
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const BLOCK = 1024 * 1024;

export interface DataSet {
  dir: string;
  files: number;
  bytes: number;
}

/** dir/name of exactly `bytes` bytes. */
export async function bigFile(dir: string, name: string, bytes: number): Promise<DataSet> {
  await mkdir(dir, { recursive: true });
  const pool = randomFillSync(Buffer.alloc(8 * BLOCK));
  const fh = await open(join(dir, name), 'w');
  try {
    for (let off = 0, i = 0; off < bytes; off += BLOCK, i++) {
      const len = Math.min(BLOCK, bytes - off);
      const start = (i * 4099 * 64) % (pool.length - BLOCK);
      const chunk = Buffer.from(pool.subarray(start, start + len));
      chunk.writeUInt32LE(i, 0);
      await fh.write(chunk, 0, len);
    }
  } finally {
    await fh.close();
  }
  return { dir, files: 1, bytes };
}

/**
 * `files` random files of `size` bytes, at most `perDir` per directory (d00000/f00000.bin, ...), as a
 * real tree would spread them.
 */
export async function manyFiles(dir: string, files: number, size: number, perDir = 1000): Promise<DataSet> {
  const pool = randomBytes(Math.max(size, 1) * 64 + 4096);
  for (let d = 0; d * perDir < files; d++) {
    const sub = join(dir, `d${String(d).padStart(5, '0')}`);
    await mkdir(sub, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = d * perDir; i < Math.min(files, (d + 1) * perDir); i++) {
      const start = (i * 61) % (pool.length - size);
      const body = Buffer.from(pool.subarray(start, start + size));
      if (size >= 4) body.writeUInt32LE(i, 0);
      writes.push(writeFile(join(sub, `f${String(i).padStart(6, '0')}.bin`), body));
      if (writes.length >= 64) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
  }
  return { dir, files, bytes: files * size };
}
