// FTP reply and listing parsing: MLST facts and times, the result line of a multi-line reply,
// the MFMT time format, basic-ftp's FileInfo as a RemoteEntry.
import { type FileInfo, FileType } from 'basic-ftp';
import { join } from '../remote-path.js';
import type { RemoteEntry } from '../types.js';

export function mlstFacts(line: string): { facts: Map<string, string>; name: string } {
  const trimmed = line.replace(/^ /, '');
  const sp = trimmed.indexOf(' ');
  const facts = new Map<string, string>();
  for (const f of trimmed.slice(0, sp).split(';')) {
    const eq = f.indexOf('=');
    if (eq > 0) facts.set(f.slice(0, eq).toLowerCase(), f.slice(eq + 1));
  }
  return { facts, name: trimmed.slice(sp + 1) };
}

export function mlstTime(v: string | undefined): Date | undefined {
  const m = v && /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(v);
  return m ? new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) : undefined;
}

/** The final line of a (possibly multi-line, "213-…" then "213 …") reply: the one with the result. */
export function lastLine(message: string): string {
  const lines = message.trim().split(/\r?\n/);
  return lines[lines.length - 1] ?? '';
}

export function mfmtTime(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '');
}

export function entryFrom(dir: string, f: FileInfo): RemoteEntry {
  const type: RemoteEntry['type'] =
    f.type === FileType.File
      ? 'file'
      : f.type === FileType.Directory
        ? 'dir'
        : f.type === FileType.SymbolicLink
          ? 'link'
          : 'other';
  const e: RemoteEntry = { name: f.name, path: join(dir, f.name), type, size: f.size };
  if (f.modifiedAt) e.mtime = f.modifiedAt;
  return e;
}
