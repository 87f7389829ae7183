// `verify`: does the server still hold what the manifest says was backed up? One listing per
// directory compares size and mtime for every file; with `readData` a share of the files is also
// compared by content — the server's own hash where it offers one, else by downloading — against
// the local source file (when it is unchanged since the backup) or the manifest's SHA-256.
import { randomInt } from 'node:crypto';
import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../scan/hash.js';
import type { FileMeta } from '../scan/types.js';
import { canHash, type Transport } from '../transport/types.js';
import type { RemoteFile, RemoteTree } from './remote-tree.js';

export interface VerifyOptions {
  /** Percent of the bytes (0–100) to compare by content; undefined: metadata only. */
  readDataPercent?: number;
  /** Local path of a manifest entry (where its source file is), to hash it for comparison. */
  localPathOf(rel: string): string | undefined;
  signal?: AbortSignal;
  /** Picks the sample; injectable so tests can take every file. */
  random?: (max: number) => number;
}

export interface VerifyResult {
  ok: boolean;
  files: number;
  /** In the manifest, not on the server. */
  missing: string[];
  /** On the server, not in the manifest. */
  extra: string[];
  /** Size (or mtime, where the server keeps mtimes) differs from the manifest. */
  mismatched: { path: string; reason: string }[];
  /** Content compared, and how. */
  contentChecked: number;
  contentMethod?: 'server-hash' | 'download';
  /** Content differs from the local source / the manifest's hash. */
  contentDiffers: string[];
  /** Picked for a content check, but nothing to compare with (source changed since, no hash kept). */
  notComparable: string[];
  /** Set when the server keeps no mtimes: compared by size only. */
  note?: string;
  /** Missing or differing files dropped from the manifest, so the next run sends them again. */
  resend?: number;
}

const sec = (ms: number) => Math.floor(ms / 1000);

/** The file's content hash as it was backed up: from the manifest, or the local file if unchanged. */
async function expectedHash(meta: FileMeta, local: string | undefined): Promise<string | undefined> {
  if (meta.sha256) return meta.sha256;
  if (!local) return undefined;
  try {
    const st = await lstat(local, { bigint: true });
    if (String(st.size) !== String(meta.size) || String(st.mtimeNs) !== meta.mtimeNs) return undefined;
    return await sha256File(local);
  } catch {
    return undefined;
  }
}

/** Files picked at random until their bytes reach `percent` of the total (100: every file). */
function sample(files: RemoteFile[], percent: number, random: (max: number) => number): RemoteFile[] {
  if (percent >= 100) return files;
  const pool = [...files];
  const total = files.reduce((s, f) => s + f.size, 0);
  const want = (total * percent) / 100;
  const out: RemoteFile[] = [];
  let got = 0;
  while (pool.length && (got < want || (out.length === 0 && percent > 0))) {
    const [f] = pool.splice(random(pool.length), 1);
    out.push(f!);
    got += f!.size;
  }
  return out;
}

export async function verifyTree(
  transport: Transport,
  tree: RemoteTree,
  manifest: Map<string, FileMeta>,
  opts: VerifyOptions,
): Promise<VerifyResult> {
  const r: VerifyResult = {
    ok: true,
    files: manifest.size,
    missing: [],
    extra: [],
    mismatched: [],
    contentChecked: 0,
    contentDiffers: [],
    notComparable: [],
  };
  const remote = new Map(tree.files.map((f) => [f.rel, f]));
  for (const rel of [...manifest.keys()].sort()) if (!remote.has(rel)) r.missing.push(rel);
  for (const f of tree.files) if (!manifest.has(f.rel)) r.extra.push(f.rel);

  const both = tree.files.filter((f) => manifest.has(f.rel));
  // otpbackup sets every upload's mtime (MFMT / SETSTAT). A server that keeps none (vsftpd has no
  // MFMT) shows upload times instead: then no file matches, and mtimes say nothing.
  const mtimeMatches = both.filter(
    (f) =>
      f.mtime && sec(f.mtime.getTime()) === sec(Number(BigInt(manifest.get(f.rel)!.mtimeNs) / 1_000_000n)),
  ).length;
  const keepsMtimes = both.length === 0 || mtimeMatches > 0;
  if (!keepsMtimes) r.note = 'the server keeps no modification times: compared by size only';
  for (const f of both) {
    const m = manifest.get(f.rel)!;
    if (f.size !== m.size) r.mismatched.push({ path: f.rel, reason: `size ${f.size}, backed up ${m.size}` });
    else if (keepsMtimes && f.mtime) {
      const want = sec(Number(BigInt(m.mtimeNs) / 1_000_000n));
      if (sec(f.mtime.getTime()) !== want)
        r.mismatched.push({
          path: f.rel,
          reason: `modified ${f.mtime.toISOString()}, backed up ${new Date(want * 1000).toISOString()}`,
        });
    }
  }

  if (opts.readDataPercent !== undefined && opts.readDataPercent > 0) {
    const bad = new Set(r.mismatched.map((x) => x.path));
    const pick = sample(
      both.filter((f) => !bad.has(f.rel)),
      opts.readDataPercent,
      opts.random ?? ((n) => randomInt(n)),
    );
    const algo = canHash(transport) && transport.hashAlgorithms().includes('sha256') ? 'sha256' : undefined;
    r.contentMethod = algo ? 'server-hash' : 'download';
    const scratch = algo ? undefined : await mkdtemp(join(tmpdir(), 'otpbackup-verify-'));
    try {
      for (const f of pick) {
        opts.signal?.throwIfAborted();
        const want = await expectedHash(manifest.get(f.rel)!, opts.localPathOf(f.rel));
        if (!want) {
          r.notComparable.push(f.rel);
          continue;
        }
        let got: string | undefined;
        if (algo && canHash(transport)) got = await transport.hash(f.path, algo);
        if (got === undefined) {
          const dir = scratch ?? (await mkdtemp(join(tmpdir(), 'otpbackup-verify-')));
          const out = join(dir, 'f');
          await transport.get(f.path, out, { size: f.size, ...(opts.signal ? { signal: opts.signal } : {}) });
          got = await sha256File(out);
          await rm(out, { force: true });
          if (!scratch) await rm(dir, { recursive: true, force: true });
        }
        r.contentChecked++;
        if (got !== want) r.contentDiffers.push(f.rel);
      }
    } finally {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    }
  }
  r.ok = !r.missing.length && !r.extra.length && !r.mismatched.length && !r.contentDiffers.length;
  return r;
}

/**
 * verify for one job whose lock the caller holds: the remote tree against the manifest, then the
 * entries of files found missing or different dropped (and the manifest compacted), so the next run
 * sends them again. Used by `verify` and by `run --verify` (on the run's own login).
 */
export async function verifyJob(
  transport: Transport,
  root: string,
  manifest: import('../scan/manifest.js').Manifest,
  opts: VerifyOptions,
): Promise<VerifyResult> {
  const { readRemoteTree } = await import('./remote-tree.js');
  const entries = new Map<string, FileMeta>();
  for (const k of manifest.keys()) entries.set(k, manifest.get(k)!);
  const tree = await readRemoteTree(transport, root, opts.signal ? { signal: opts.signal } : {});
  const r = await verifyTree(transport, tree, entries, opts);
  const forget = [...r.missing, ...r.mismatched.map((m) => m.path), ...r.contentDiffers];
  if (forget.length) {
    for (const rel of forget) manifest.remove(rel);
    await manifest.compact();
    r.resend = forget.length;
  }
  return r;
}
