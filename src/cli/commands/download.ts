// `otpbackup download SOURCE… --to DIR`: fetch files or directories for CI (artifacts), with flags and
// environment like `upload` and never a prompt. SOURCE is a URL (sftp://user@host/path/file) or
// ACCOUNT:PATH; all sources share one login, so they must name the same server.
import type { Command } from 'commander';
import type { RestoreResult } from '../../restore/restore.js';
import type { CliContext } from '../context.js';
import {
  addUrlTargetOptions,
  connectReadTarget,
  type ReadTargetOptions,
  resolveReadTarget,
} from '../read-target.js';
import { addOptions } from '../target-options.js';
import { addTransferOptions } from '../transfer-options.js';

interface DownloadOptions extends ReadTargetOptions {
  to?: string;
  overwrite?: boolean;
  skipExisting?: boolean;
  json?: boolean;
}

/** "URL" or "ACCOUNT:PATH" → the target spec (URL up to its path, or the account) and the path. */
export function splitSource(src: string): { spec: string; path: string } {
  const url = /^([a-z-]+:\/\/[^/]*)(\/.*)?$/i.exec(src);
  if (url) return { spec: `${url[1]}/`, path: url[2] ?? '/' };
  const i = src.indexOf(':');
  if (i <= 0) return { spec: src, path: '' };
  return { spec: src.slice(0, i), path: src.slice(i + 1) };
}

/**
 * `sftp://host/file` is the absolute path /file (as curl reads it), not the file in the login
 * directory that `upload --to sftp://host/` wrote: when such a path is missing, say so and show the
 * `/~/` form (the upload error does the same for a directory it may not write).
 */
function absoluteHint(source: string, remote: string): string {
  if (!/^sftp:\/\//i.test(source) || !remote.startsWith('/')) return '';
  const at = source.indexOf('/', 'sftp://'.length);
  const base = at < 0 ? source : source.slice(0, at);
  return ` (${remote} is an absolute path: sftp://host/path starts at the server's root; for ${remote.slice(1)} below the login directory write ${base}/~${remote})`;
}

export async function downloadCommand(
  sources: string[],
  opts: DownloadOptions,
  ctx: CliContext,
): Promise<RestoreResult> {
  const [{ OtpBackupError, usageError }, { posix, resolve }, tree, { restoreFiles }] = await Promise.all([
    import('../../errors.js'),
    import('node:path'),
    import('../../restore/remote-tree.js'),
    import('../../restore/restore.js'),
  ]);
  if (!opts.to) throw usageError('say where to download to: --to DIR');
  if (opts.overwrite && opts.skipExisting) throw usageError('use either --overwrite or --skip-existing');
  const parts = sources.map(splitSource);
  const specs = new Set(parts.map((p) => p.spec));
  if (specs.size > 1)
    throw usageError(
      'every source must name the same server and account (one login per run)',
      'run download once per server',
    );
  const spec = parts[0]!.spec;
  const { accountLimiter, transferSettings } = await import('../transfer-options.js');
  const transfer = transferSettings(opts); // a bad --bwlimit etc. is refused before connecting
  const target = await resolveReadTarget(spec, opts, ctx, { url: true, account: true });
  const limiter = accountLimiter(transfer, target.account);
  // A URL's path follows the URL rules of upload (config/url.ts: below the login directory for FTP,
  // absolute for SFTP, /~/ for the home); an ACCOUNT:PATH is below the account's remote directory.
  const { parseTargetUrl } = await import('../../config/url.js');
  const remoteOf = (src: string, p: string) =>
    target.config ? posix.join(target.root, p || '.') : parseTargetUrl(src, 'download').remoteDir;
  const toDir = resolve(ctx.cwd, opts.to);
  const t = await connectReadTarget(target, opts, ctx);
  let total: RestoreResult = { restored: 0, bytes: 0, skipped: 0, failed: [], durationMs: 0 };
  try {
    for (const [i, { path }] of parts.entries()) {
      const remote = remoteOf(sources[i]!, path);
      const st = await t.stat(remote);
      if (!st) {
        total.failed.push({
          path: remote,
          reason: `no such file or directory on the server${absoluteHint(sources[i]!, remote)}`,
        });
        continue;
      }
      let files: import('../../restore/remote-tree.js').RemoteFile[];
      let into = toDir;
      if (st.type === 'file') {
        files = [
          {
            rel: posix.basename(remote),
            path: remote,
            size: st.size,
            ...(st.mtime ? { mtime: st.mtime } : {}),
          },
        ];
      } else {
        const r = await tree.readRemoteTree(t, remote);
        files = r.files;
        const base = posix.basename(posix.normalize(remote));
        // Like `cp -r dir DEST`: the directory itself lands in DEST (its contents, for the root).
        if (base && base !== '.' && base !== '/' && tree.safeName(base)) into = resolve(toDir, base);
        for (const s of r.skipped) total.failed.push({ path: s.rel, reason: s.reason });
      }
      const r = await restoreFiles(t, files, into, {
        existing: opts.overwrite ? 'overwrite' : opts.skipExisting ? 'skip' : 'refuse',
        ...(limiter ? { limiter } : {}),
      });
      total = {
        restored: total.restored + r.restored,
        bytes: total.bytes + r.bytes,
        skipped: total.skipped + r.skipped,
        failed: [...total.failed, ...r.failed],
        durationMs: total.durationMs + r.durationMs,
        ...(r.error ? { error: r.error } : {}),
      };
      if (r.error) break;
    }
  } finally {
    await t.close().catch(() => {});
  }
  const failure = total.error
    ? total.error
    : total.failed.length
      ? new OtpBackupError('partial', `${total.failed.length} file(s) not downloaded`, {
          hint: 'see the lines above',
        })
      : undefined;
  if (opts.json) {
    const { error: _e, ...rest } = total;
    const { printJson } = await import('../report.js');
    printJson(ctx, rest, failure ? { error: failure } : {});
  } else {
    for (const f of total.failed) ctx.stderr.write(`otpbackup: ${f.path}: ${f.reason}\n`);
    if (ctx.verbose > 0)
      ctx.stdout.write(
        `downloaded ${total.restored} file(s) (${total.bytes} bytes), ${total.skipped} already there\n`,
      );
  }
  if (total.error) throw total.error;
  if (total.failed.length)
    throw new OtpBackupError('partial', `${total.failed.length} file(s) not downloaded`, {
      hint: 'see the lines above',
    });
  return total;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('download')
    .description(
      'download files or directories once, e.g. in CI (secrets from the environment; never prompts)',
    )
    .argument('<source...>', 'URL (sftp://user@host:22/path) or ACCOUNT:PATH; all from one server')
    .option('--to <dir>', 'download into this directory (required; created if missing)')
    .option('--json', 'print one JSON document: restored, bytes, skipped, failed')
    .addHelpText(
      'after',
      `
Remote paths: for ftp:// URLs the path is below the login directory (%2F for the server root);
for sftp:// it is absolute (sftp://host/~/dir is below the home directory).

Examples:
  OTPBACKUP_PASSWORD=… OTPBACKUP_TOTP_SECRET=… otpbackup download sftp://ci@host:22/srv/artifacts/build.tar.gz --to dist/
  otpbackup download nas:reports/2026 --to ./reports`,
    );
  addOptions(cmd, ['overwrite', 'skipExisting']);
  addTransferOptions(addUrlTargetOptions(cmd)).action(async (sources: string[], opts: DownloadOptions) => {
    await downloadCommand(sources, opts, ctx);
  });
}
