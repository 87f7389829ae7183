// Modification times for FTP servers whose listings lack them to the second (vsftpd's LIST: "Nov 30
// 12:34"). A restore asks MDTM for every file, one after another: one round trip each, the biggest
// part of a small file's download there. The listing already named the files, so the first MDTM
// in a directory is sent together with those of the files listed after it (one write, one reply
// each, in order — see ftp/pipeline.ts), and the next calls are answered from what came back.
// Anything that changes the server's files forgets all of it.

/** MDTM commands sent in one write. */
export const MDTM_BATCH = 100;

export class MtimeCache {
  /** Per directory: the files its last listing showed without a usable time, in listing order. */
  private readonly listed = new Map<string, string[]>();
  private readonly known = new Map<string, Date | undefined>();

  /** A listing of `dir` gave these file paths without a time to the second. */
  noteListing(dir: string, paths: string[]): void {
    if (paths.length) this.listed.set(dir, paths);
    else this.listed.delete(dir);
  }

  /** The answer fetched earlier for `path`, once ({ hit: false } when none is held). */
  take(path: string): { hit: true; mtime: Date | undefined } | { hit: false } {
    if (!this.known.has(path)) return { hit: false };
    const mtime = this.known.get(path);
    this.known.delete(path);
    return { hit: true, mtime };
  }

  /** `path` first, then the files listed after it in its directory that hold no answer yet. */
  batchFor(path: string, dir: string): string[] {
    const list = this.listed.get(dir) ?? [];
    const i = list.indexOf(path);
    const out = [path];
    if (i < 0) return out;
    for (let j = i + 1; j < list.length && out.length < MDTM_BATCH; j++) {
      const p = list[j]!;
      if (!this.known.has(p)) out.push(p);
    }
    return out;
  }

  store(path: string, mtime: Date | undefined): void {
    this.known.set(path, mtime);
  }

  /** The server's files changed (upload, rename, removal): nothing held is trusted any more. */
  forget(): void {
    this.listed.clear();
    this.known.clear();
  }
}
