// `otpbackup restore JOB [PATH…] --to DIR`: get a job's files back (or the state at --at from the
// copies mode: versions keeps). One login, the job's lock (never beside a backup of the same job),
// no existing local file replaced unless asked, mtimes restored, exit 3 if any file failed.
import type { Command } from 'commander';
import type { RestoreResult } from '../../restore/restore.js';
import { type CliContext, isInteractive } from '../context.js';
import { connectReadTarget, parseAt, type ReadTargetOptions, resolveReadTarget } from '../read-target.js';
import { addGroup } from '../target-options.js';
import { addTransferOptions } from '../transfer-options.js';

interface RestoreOptions extends ReadTargetOptions {
  to?: string;
  at?: string;
  dryRun?: boolean;
  overwrite?: boolean;
  skipExisting?: boolean;
  json?: boolean;
  progress?: boolean;
}

export async function restoreCommand(
  job: string,
  paths: string[],
  opts: RestoreOptions,
  ctx: CliContext,
): Promise<RestoreResult> {
  const { OtpBackupError, usageError } = await import('../../errors.js');
  if (!opts.to)
    throw usageError(
      'say where to restore to: --to DIR',
      'restoring over the sources must be chosen explicitly: --to ~/Documents',
    );
  if (opts.overwrite && opts.skipExisting) throw usageError('use either --overwrite or --skip-existing');
  const atMs = opts.at !== undefined ? parseAt(opts.at) : undefined;
  const { accountLimiter, transferSettings } = await import('../transfer-options.js');
  const transfer = transferSettings(opts); // a bad --bwlimit etc. is refused before connecting
  const target = await resolveReadTarget(job, opts, ctx, { url: false, account: false });
  const limiter = accountLimiter(transfer, target.account);
  const [
    { resolve },
    tree,
    { restoreFiles },
    { acquireLock },
    { lockPath },
    { onInterrupt },
    { ProgressLine },
  ] = await Promise.all([
    import('node:path'),
    import('../../restore/remote-tree.js'),
    import('../../restore/restore.js'),
    import('../../config/state-file.js'),
    import('../../backup/run-due.js'),
    import('./run.js'),
    import('../../ui/progress.js'),
  ]);
  const toDir = resolve(ctx.cwd, opts.to);
  const lock = await acquireLock(lockPath(ctx.env, job), { what: `job "${job}"` });
  const stop = onInterrupt(ctx);
  const progress =
    !opts.json && opts.progress !== false && isInteractive(ctx) ? new ProgressLine(ctx.stderr) : undefined;
  let result: RestoreResult;
  try {
    const t = await connectReadTarget(target, opts, ctx);
    try {
      const remote = await tree.readRemoteTree(t, target.root, {
        versions: atMs !== undefined,
        signal: stop.signal,
      });
      const files = atMs !== undefined ? tree.treeAt(remote, atMs) : remote.files;
      const sel = tree.selectPaths(files, paths);
      if (sel.unmatched.length)
        throw new OtpBackupError(
          'usage',
          `nothing to restore at ${sel.unmatched.map((p) => JSON.stringify(p)).join(', ')}`,
          {
            hint: `see what there is with \`otpbackup ls ${job}${atMs !== undefined ? ' --versions' : ''}\``,
          },
        );
      const total = { files: sel.files.length, bytes: sel.files.reduce((n, f) => n + f.size, 0) };
      progress?.start(job);
      result = await restoreFiles(opts.dryRun ? undefined : t, sel.files, toDir, {
        existing: opts.overwrite ? 'overwrite' : opts.skipExisting ? 'skip' : 'refuse',
        ...(limiter ? { limiter } : {}),
        dryRun: Boolean(opts.dryRun),
        signal: stop.signal,
        onFile: (n, bytes) => progress?.update(job, n, bytes, total),
      });
      for (const s of remote.skipped) result.failed.push({ path: s.rel, reason: s.reason });
    } finally {
      await t.close().catch(() => {});
    }
  } finally {
    progress?.clear();
    stop.dispose();
    lock.release();
  }
  const failure = result.error
    ? result.error
    : result.failed.length
      ? new OtpBackupError('partial', `${result.failed.length} file(s) not restored`, {
          hint: 'see the lines above; --overwrite replaces local files that differ',
        })
      : undefined;
  if (opts.json) {
    const { error: _e, ...rest } = result;
    const { printJson } = await import('../report.js');
    printJson(ctx, { to: toDir, ...rest }, failure ? { error: failure } : {});
  } else if (opts.dryRun) {
    ctx.stdout.write(
      `would restore ${result.plan?.length ?? 0} file(s) to ${toDir}, ${result.skipped} already there\n`,
    );
    for (const p of result.plan ?? []) ctx.stdout.write(`  + ${p}\n`);
  } else {
    for (const f of result.failed) ctx.stderr.write(`otpbackup: ${f.path}: ${f.reason}\n`);
    ctx.stdout.write(
      `restored ${result.restored} file(s) (${result.bytes} bytes) to ${toDir}${result.skipped ? `, ${result.skipped} already there` : ''}${result.failed.length ? `, ${result.failed.length} failed` : ''}\n`,
    );
  }
  if (failure) throw failure;
  return result;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('restore')
    .description("get a job's files back from the server (all, some, or as they were at a time)")
    .argument('<job>', 'the job whose backup to restore')
    .argument('[paths...]', 'only these files or directories (relative to the job)')
    .option('--to <dir>', 'restore into this directory (required; created if missing)')
    .option(
      '--at <time>',
      "the state at this time, from the copies mode: versions keeps (e.g. '2026-11-30T14:00')",
    )
    .option('--dry-run', 'print what would be restored; change nothing')
    .option('--json', 'print one JSON document: restored, bytes, skipped, failed')
    .addHelpText(
      'after',
      `
A local file that is already there with the same size and mtime counts as restored, so an
interrupted restore is finished by running it again. One that differs is left alone (exit 3)
unless --overwrite.

Examples:
  otpbackup restore documents --to ~/restored
  otpbackup restore documents reports/2026 --to /tmp/r --dry-run
  otpbackup restore documents --to ~/restored --at '2026-11-30T14:00'`,
    );
  addTransferOptions(addGroup(cmd, 'local')).action(
    async (job: string, paths: string[], opts: RestoreOptions) => {
      await restoreCommand(job, paths, opts, ctx);
    },
  );
}
