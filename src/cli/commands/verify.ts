// `otpbackup verify JOB`: does the server hold what the job's manifest says was backed up? Size and
// mtime of every file from one listing per directory; with --read-data, content too (the server's
// hash where offered, else a download) for a share of the bytes. Exit 0 clean, 3 on any difference.
import type { Command } from 'commander';
import type { VerifyResult } from '../../restore/verify.js';
import type { CliContext } from '../context.js';
import { connectReadTarget, type ReadTargetOptions, resolveReadTarget } from '../read-target.js';

interface VerifyOptions extends ReadTargetOptions {
  readData?: boolean | string;
  json?: boolean;
}

function percentOf(v: boolean | string | undefined): number | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return 100;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(v);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!(n > 0 && n <= 100)) return Number.NaN;
  return n;
}

export async function verifyCommand(
  job: string,
  opts: VerifyOptions,
  ctx: CliContext,
): Promise<VerifyResult> {
  const { OtpBackupError, usageError } = await import('../../errors.js');
  const percent = percentOf(opts.readData);
  if (Number.isNaN(percent))
    throw usageError(
      `--read-data: "${String(opts.readData)}" is not a percentage`,
      'e.g. --read-data or --read-data=10%',
    );
  const target = await resolveReadTarget(job, opts, ctx, { url: false, account: false });
  const [
    { verifyJob },
    { Manifest },
    { jobStateDir },
    { sourcePathOf, sourceRoots },
    { acquireLock },
    { lockPath },
  ] = await Promise.all([
    import('../../restore/verify.js'),
    import('../../scan/manifest.js'),
    import('../../config/paths.js'),
    import('../../scan/scan.js'),
    import('../../config/state-file.js'),
    import('../../backup/run-due.js'),
  ]);
  // The job's lock: a backup in progress owns the manifest and the remote tree.
  const lock = await acquireLock(lockPath(ctx.env, job), { what: `job "${job}"` });
  let r: VerifyResult;
  try {
    const manifest = await Manifest.load(jobStateDir(ctx.env, job));
    try {
      const roots = target.job ? sourceRoots({ ...target.job, name: job }, ctx.cwd) : [];
      const t = await connectReadTarget(target, opts, ctx);
      try {
        r = await verifyJob(t, target.root, manifest, {
          ...(percent !== undefined ? { readDataPercent: percent } : {}),
          localPathOf: sourcePathOf(roots),
        });
      } finally {
        await t.close().catch(() => {});
      }
    } finally {
      manifest.close();
    }
  } finally {
    lock.release();
  }
  const failure = r.ok
    ? undefined
    : new OtpBackupError('partial', `the backup of job ${job} differs from its manifest`, {
        hint: `the next \`otpbackup run --job ${job}\` sends the missing and differing files again`,
      });
  if (opts.json) (await import('../report.js')).printJson(ctx, r, failure ? { error: failure } : {});
  else {
    for (const p of r.missing) ctx.stdout.write(`missing   ${p}\n`);
    for (const p of r.extra) ctx.stdout.write(`extra     ${p}\n`);
    for (const m of r.mismatched) ctx.stdout.write(`differs   ${m.path}: ${m.reason}\n`);
    for (const p of r.contentDiffers) ctx.stdout.write(`content   ${p}: the bytes on the server differ\n`);
    if (r.note) ctx.stderr.write(`otpbackup: ${r.note}\n`);
    if (r.resend) ctx.stdout.write(`the next run of ${job} sends ${r.resend} file(s) again\n`);
    if (r.extra.length) ctx.stdout.write("extra files are not otpbackup's to remove: they are left alone\n");
    if (ctx.verbose > 0 || !r.ok)
      ctx.stdout.write(
        `${r.files} file(s) in the manifest: ${r.missing.length} missing, ${r.extra.length} extra, ${r.mismatched.length} differ${percent !== undefined ? `; content of ${r.contentChecked} checked (${r.contentMethod}), ${r.contentDiffers.length} differ, ${r.notComparable.length} not comparable` : ''}\n`,
      );
  }
  if (failure) throw failure;
  return r;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description("check that the server holds what a job's manifest says was backed up")
    .argument('<job>', 'the job to check')
    .option(
      '--read-data [percent]',
      'compare content too, for all the bytes or this share of them (e.g. 10%)',
    )
    .option('--json', 'print one JSON document: missing, extra, mismatched, contentDiffers')
    .addHelpText(
      'after',
      `
Exit code 0 when everything matches, 3 on any difference.

Examples:
  otpbackup verify documents
  otpbackup verify documents --read-data=10%`,
    )
    .action(async (job: string, opts: VerifyOptions) => {
      await verifyCommand(job, opts, ctx);
    });
}
