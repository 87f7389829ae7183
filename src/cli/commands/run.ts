// `otpbackup run`: back up the due jobs (or --job NAME now). Made for cron: silent on success,
// failures on stderr one line each, exit code per DESIGN.md. Heavy modules (engine, transports,
// secret stores, and the YAML and cron parsers unless the config or a schedule changed) load only
// once some job is actually due.
import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { selectJobs } from '../../backup/select.js';
import type { RunResult } from '../../backup/types.js';
import { loadConfigCached } from '../../config/cache.js';
import type { Config } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import { type CliContext, isInteractive } from '../context.js';
import { printJson } from '../report.js';
import { addTransferOptions, type TransferFlags, transferSettings } from '../transfer-options.js';

export interface RunOptions extends TransferFlags {
  job?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  config?: string;
  verify?: boolean;
}

export async function runCommand(opts: RunOptions, ctx: CliContext): Promise<RunResult> {
  // Through the cache: the YAML parser and the schema load only when the config changed.
  const transfer = transferSettings(opts); // a bad --bwlimit etc. is refused before anything runs
  const config = await loadConfigCached(ctx.env, opts.config);
  const due = await selectJobs(config, { env: ctx.env, clock: ctx.clock, job: opts.job });
  if (due.length === 0) {
    if ((ctx.verbose > 0 || ctx.debug || opts.dryRun) && !opts.json)
      ctx.stdout.write(`${await nothingDue(config, ctx)}\n`);
    const empty: RunResult = { jobs: [], exitCode: 0 };
    if (opts.json) printJson(ctx, empty);
    return empty;
  }

  const [{ runDue }, { TextReporter }, { jsonReporter }] = await Promise.all([
    import('../../backup/run-due.js'),
    import('../../ui/text.js'),
    import('../../ui/json.js'),
  ]);
  const text = opts.json
    ? undefined
    : new TextReporter({
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        verbose: ctx.debug ? 2 : ctx.verbose,
        progress: isInteractive(ctx),
      });
  const stop = onInterrupt(ctx);
  let result: RunResult;
  try {
    result = await runDue(config, {
      signal: stop.signal,
      env: ctx.env,
      clock: ctx.clock,
      reporter: text ?? jsonReporter,
      connect: (account, signal) =>
        ctx.connect(transfer.apply(account), { prompt: 'terminal', config, ...(signal ? { signal } : {}) }),
      ...(transfer.limiter ? { limiter: transfer.limiter } : transfer.unlimited ? { limiter: 'none' } : {}),
      job: opts.job,
      force: opts.force,
      dryRun: opts.dryRun,
      cwd: ctx.cwd,
      verify: Boolean(opts.verify),

      warn: (line) => ctx.stderr.write(`otpbackup: ${line}\n`),
      getSecret: async (ref) =>
        (await import('../../secrets/resolve.js')).resolveSecret(ref, { env: ctx.env, config }),
    });
  } finally {
    stop.dispose();
    text?.done();
  }
  if (ctx.env.INVOCATION_ID) {
    // Under systemd: this failure is reported (hooks, pings), so otpbackup-notify@ need not again.
    const [{ recordRunReported }, { stateDir }] = await Promise.all([
      import('../../hooks/unit-failure.js'),
      import('../../config/paths.js'),
    ]);
    await recordRunReported(ctx.env, stateDir(ctx.env), result.exitCode, ctx.clock.now());
  }

  const failure = result.exitCode !== 0 ? summaryError(result, ctx, Boolean(opts.json)) : undefined;
  if (opts.json) printJson(ctx, result, { error: failure, pretty: true });
  else if (opts.dryRun) {
    for (const r of result.jobs) {
      ctx.stdout.write(
        `job ${r.job}: would upload ${r.plan?.upload.length ?? 0}, delete ${r.plan?.delete.length ?? 0}\n`,
      );
      for (const p of r.plan?.upload ?? []) ctx.stdout.write(`  + ${p}\n`);
      for (const p of r.plan?.delete ?? []) ctx.stdout.write(`  - ${p}\n`);
    }
  } else if (ctx.verbose > 0 || ctx.debug) {
    for (const r of result.jobs) {
      ctx.stdout.write(
        `job ${r.job}: ${r.outcome}, ${r.files} uploaded (${r.bytes} bytes), ${r.deleted} deleted, ${r.unchanged} unchanged, ${r.failed.length} failed, ${r.durationMs} ms\n`,
      );
    }
  }

  if (failure) throw failure;
  return result;
}

/** "nothing is due; next: JOB at TIME" (the soonest job), for -v and --dry-run. */
async function nothingDue(config: Config, ctx: CliContext): Promise<string> {
  const jobs = Object.values(config.jobs);
  if (!jobs.length) return `nothing is due: there are no jobs in ${config.path}`;
  const [{ readJobState }, { nextRun }] = await Promise.all([
    import('../../backup/job-state.js'),
    import('../../schedule/due.js'),
  ]);
  const now = ctx.clock.now();
  let soonest: { job: string; at: number } | undefined;
  for (const j of jobs) {
    const st = await readJobState(ctx.env, j.name);
    let at: number;
    try {
      at = nextRun(j.schedule, st.lastRunMs ?? now, j.timezone);
    } catch {
      continue; // an invalid schedule is reported by the config check
    }
    if (!soonest || at < soonest.at) soonest = { job: j.name, at };
  }
  if (!soonest) return 'nothing is due';
  const when = new Date(soonest.at).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
  return `nothing is due; next: ${soonest.job} at ${when}`;
}

/**
 * Ctrl-C / SIGTERM: the first one aborts the run: transfers in flight stop within seconds (their
 * temp files are dropped, nothing half-sent is recorded; a file already being committed lands and
 * is recorded). A second one exits at once with 130, leaving only temp names the next run cleans up.
 */
export function onInterrupt(ctx: CliContext): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  // Each transfer in flight (32 over SFTP) and each retry waiting out its backoff listens for the
  // abort, and removes its listener when done: Node's default of 10 printed a MaxListenersExceeded
  // warning as the first line of stderr when a server went away mid-run (FAULT_SCALE=full).
  setMaxListeners(256, ac.signal);
  const handler = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
    if (isInteractive(ctx))
      ctx.stderr.write('\rinterrupted: stopping the transfers in flight (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** The error main() prints and maps to the exit code; other failed jobs get their own line first. */
function summaryError(result: RunResult, ctx: CliContext, json: boolean): OtpBackupError {
  const errored = result.jobs.filter((r) => r.error);
  if (result.exitCode === 130 && !errored.some((r) => r.error?.code === 'interrupted')) {
    return new OtpBackupError('interrupted', 'interrupted; files already sent are recorded', {
      hint: 'run again to send the rest',
    });
  }
  for (const r of errored.slice(1)) {
    if (!json) ctx.stderr.write(`otpbackup: job ${r.job}: ${r.error?.message}\n`);
  }
  const first = errored[0];
  if (first?.error) {
    return new OtpBackupError(
      first.error.code as OtpBackupError['code'],
      `job ${first.job}: ${first.error.message}`,
      {
        hint: first.error.hint,
      },
    );
  }
  const partial = result.jobs.filter((r) => r.failed.length);
  const n = partial.reduce((s, r) => s + r.failed.length, 0);
  return new OtpBackupError('partial', `${n} file(s) failed in job ${partial.map((r) => r.job).join(', ')}`, {
    hint: 'see the lines above (and otpbackup.log in the state directory); failed files are retried next run',
  });
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('run')
    .description('back up every job that is due (for cron), or one job now with --job')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup run                      # from cron: silent unless something fails
  otpbackup run -v --job documents   # run one job now and say what it did
  otpbackup run --dry-run            # show the plan, change nothing
  otpbackup run --json               # one result object for scripts
`,
    )
    .option('--job <name>', 'run this job now, due or not')
    .option('--dry-run', 'print what would be uploaded and deleted; change nothing')
    .option('--force', 'upload every file again, and allow deleting more than half of the backup')
    .option('--json', 'print one JSON result object on stdout')
    .option(
      '--verify',
      'after each job, check the server against the manifest (same login; exit 3 on a difference)',
    );
  addTransferOptions(cmd).action(async (opts: RunOptions) => {
    await runCommand(opts, ctx);
  });
}
