// After an unreadable manifest was moved aside (#14.8): which of the files to upload the server
// already holds, so a lost manifest costs one listing per directory instead of a full re-upload.
// The rule is rclone's default check: same size, and the same modification time to the second
// (every upload sets the remote mtime: FTP MFMT, SFTP setstat; listings give whole seconds).
import { posix } from 'node:path';
import type { ScannedFile } from '../scan/types.js';
import type { RemoteEntry, Transport } from '../transport/types.js';

/** The files among `files` whose remote copy (at remoteOf(rel)) matches by size and mtime. */
export async function alreadyOnServer(
  transport: Pick<Transport, 'list'>,
  files: readonly ScannedFile[],
  remoteOf: (rel: string) => string,
): Promise<Set<ScannedFile>> {
  const byDir = new Map<string, ScannedFile[]>();
  for (const f of files) {
    const d = posix.dirname(remoteOf(f.rel));
    byDir.set(d, [...(byDir.get(d) ?? []), f]);
  }
  const same = new Set<ScannedFile>();
  for (const [dir, group] of byDir) {
    let entries: RemoteEntry[];
    try {
      entries = await transport.list(dir);
    } catch {
      continue; // no such directory (yet), or not listable: those files are simply sent
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    for (const f of group) {
      const e = byName.get(posix.basename(remoteOf(f.rel)));
      if (e?.type !== 'file' || e.size !== f.meta.size || !e.mtime) continue;
      const localS = BigInt(f.meta.mtimeNs) / 1_000_000_000n;
      if (BigInt(Math.floor(e.mtime.getTime() / 1000)) === localS) same.add(f);
    }
  }
  return same;
}
