// `otpbackup watch`: back up jobs as their sources change. One login per account for the whole
// session; Ctrl-C / SIGTERM stops the transfers in flight (not recorded: sent next time) and exits 0.
import type { Command } from 'commander';
import type { Job } from '../../config/types.js';
import { OtpBackupError, usageError } from '../../errors.js';
import { type CliContext, isInteractive } from '../context.js';

export interface WatchOptions {
  job?: string[];
  quietMs?: string;
  initial?: boolean;
  config?: string;
  /** One JSON line per batch (NDJSON), and a summary line on exit. */
  json?: boolean;
}

function parseQuiet(v: string | undefined): number {
  if (v === undefined) return 2000;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 3_600_000) {
    throw usageError(
      `--quiet-ms: "${v}" is not a whole number of milliseconds`,
      'for example --quiet-ms 2000',
    );
  }
  return n;
}

export async function watchCommand(opts: WatchOptions, ctx: CliContext): Promise<void> {
  const quietMs = parseQuiet(opts.quietMs);
  const { loadConfig } = await import('../../config/load.js');
  const config = await loadConfig(ctx.env, opts.config);
  const names = opts.job?.length ? opts.job : Object.keys(config.jobs);
  if (names.length === 0) {
    throw new OtpBackupError('config', `no jobs are defined in ${config.path}`, {
      hint: 'add one with: otpbackup job add',
    });
  }
  const jobs: Job[] = names.map((n) => {
    const j = config.jobs[n];
    if (!j)
      throw usageError(
        `unknown job "${n}"`,
        `jobs in ${config.path}: ${Object.keys(config.jobs).join(', ')}`,
      );
    return j;
  });

  const [{ watchJobs }, { TextReporter }, { onInterrupt }, { jsonReporter }, { redact }] = await Promise.all([
    import('../../backup/watch.js'),
    import('../../ui/text.js'),
    import('./run.js'),
    import('../../ui/json.js'),
    import('../../secrets/redact.js'),
  ]);
  // --json: stdout carries only the JSON lines; no progress display, no text summaries.
  const json = Boolean(opts.json);
  const text = new TextReporter({
    stdout: ctx.stdout,
    stderr: ctx.stderr,
    verbose: json ? 0 : ctx.verbose,
    progress: !json && isInteractive(ctx),
  });
  const line = (o: unknown) => ctx.stdout.write(`${redact(JSON.stringify(o))}\n`);
  const totals = { batches: 0, files: 0, bytes: 0, deleted: 0, failed: 0, errors: 0 };
  const stop = onInterrupt(ctx);
  if (ctx.verbose > 0 && !json)
    ctx.stdout.write(`watching ${jobs.map((j) => j.name).join(', ')} (Ctrl-C to stop)\n`);
  try {
    await watchJobs(config, jobs, {
      env: ctx.env,
      clock: ctx.clock,
      reporter: json ? jsonReporter : text,
      connect: (account) => ctx.connect(account, { prompt: 'terminal', config }),
      cwd: ctx.cwd,
      signal: stop.signal,
      quietMs,
      initialRun: opts.initial !== false,
      onResult: (job, result) => {
        text.done();
        const r = result.jobs[0];
        if (!r) return;
        if (r.error && r.error.code !== 'interrupted') {
          ctx.stderr.write(`otpbackup: job ${job}: ${r.error.message}\n`);
        }
        if (ctx.verbose > 0 && !json) {
          ctx.stdout.write(
            `job ${job}: ${r.outcome}, ${r.files} uploaded (${r.bytes} bytes), ${r.deleted} deleted, ${r.failed.length} failed\n`,
          );
        }
      },
      onBatch: (result) => {
        if (!json) return;
        totals.batches++;
        for (const r of result.jobs) {
          totals.files += r.files;
          totals.bytes += r.bytes;
          totals.deleted += r.deleted;
          totals.failed += r.failed.length;
          if (r.error && r.error.code !== 'interrupted') totals.errors++;
        }
        // The same per-job objects as `run --json`, one line per batch.
        line({ batch: totals.batches, at: new Date(ctx.clock.now()).toISOString(), ...result });
      },
      onError: (job, e) => {
        totals.errors++;
        text.done();
        ctx.stderr.write(`otpbackup: job ${job}: ${e instanceof Error ? e.message : String(e)}\n`);
      },
    });
  } finally {
    stop.dispose();
    text.done();
  }
  if (json) line({ exit: 0, ...totals });
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('watch')
    .description('back up jobs whenever their sources change (runs every job once at start)')
    .addHelpText(
      'after',
      `
Every job (or each --job) is run once at start to catch up, then again after its sources
have been quiet for --quiet-ms. One login per account is kept for the whole session; a lost
connection logs in again with a fresh code. Ctrl-C stops the transfer in flight (it is sent next time) and exits 0.

Examples:
  otpbackup watch                          # all jobs
  otpbackup watch --job documents -v       # one job, say what it did
  otpbackup watch --job a --job b --quiet-ms 10000
  otpbackup watch --no-initial             # only changes from now on
  otpbackup watch --json | jq -c .         # a JSON line per batch, and one on exit
`,
    )
    .option('--job <name>', 'watch this job (repeatable; default: all jobs)', collect)
    .option('--quiet-ms <ms>', 'wait this long after the last change before backing up', '2000')
    .option('--no-initial', 'skip the catch-up run at start')
    .option('--json', 'print one JSON line per batch (jobs as in `run --json`) and a summary line on exit')
    .action(async (opts: WatchOptions) => {
      await watchCommand(opts, ctx);
    });
}
