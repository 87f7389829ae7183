// Streamed SHA-256 of a file (constant memory whatever its size).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { fsPath } from './raw-name.js';

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(fsPath(path), { highWaterMark: 1 << 20 }))
    h.update(chunk as Buffer);
  return h.digest('hex');
}
