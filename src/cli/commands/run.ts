// `otpbackup run`: back up the due jobs (or --job NAME now). Made for cron: silent on success,
// failures on stderr one line each, exit code per DESIGN.md. Heavy modules (engine, transports,
// secret stores, and the YAML and cron parsers unless the config or a schedule changed) load only
// once some job is actually due.
import type { Command } from 'commander';
import { selectJobs } from '../../backup/select.js';
import type { RunResult } from '../../backup/types.js';
import { loadConfigCached } from '../../config/cache.js';
import type { Account, Config } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import type { Transport } from '../../transport/types.js';
import { type CliContext, isInteractive } from '../context.js';

export interface RunOptions {
  job?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  config?: string;
}

/** Logs in to an account: credentials and the one-time code are computed inside connect(). */
export async function connectAccount(
  account: Account,
  config: Config,
  ctx: CliContext,
  signal?: AbortSignal,
): Promise<Transport> {
  const [{ accountTransport }, { resolveSecret }, { codePrompter }] = await Promise.all([
    import('../../transport/open.js'),
    import('../../secrets/resolve.js'),
    import('../prompt-code.js'),
  ]);
  const secretDeps = { env: ctx.env, config };
  const log = ctx.verbose > 1 ? (line: string) => ctx.stderr.write(`${account.name}: ${line}\n`) : undefined;
  let loginStep: number | undefined;
  const transport = await accountTransport(account, {
    env: ctx.env,
    clock: ctx.clock,
    getSecret: (ref) => resolveSecret(ref, secretDeps),
    ...(log ? { log } : {}),
    // otp.type: prompt asks the person at the terminal (none: a clear error at login).
    promptCode: codePrompter(ctx),
    // Remember which TOTP step / HOTP counter the login spent, for the result (never the code).
    onCredentials: (c) => {
      loginStep = c.step ?? c.counter;
    },
  });
  await transport.connect(signal);
  return Object.assign(transport, { loginStep });
}

export async function runCommand(opts: RunOptions, ctx: CliContext): Promise<RunResult> {
  // Through the cache: the YAML parser and the schema load only when the config changed.
  const config = await loadConfigCached(ctx.env, opts.config);
  const due = await selectJobs(config, { env: ctx.env, clock: ctx.clock, job: opts.job });
  if (due.length === 0) {
    if (ctx.verbose > 0 && !opts.json) ctx.stdout.write('nothing is due\n');
    const empty: RunResult = { jobs: [], exitCode: 0 };
    if (opts.json) ctx.stdout.write(`${JSON.stringify(empty)}\n`);
    return empty;
  }

  const [{ runDue }, { TextReporter }, { formatJson, jsonReporter }] = await Promise.all([
    import('../../backup/run-due.js'),
    import('../../ui/text.js'),
    import('../../ui/json.js'),
  ]);
  const text = opts.json
    ? undefined
    : new TextReporter({
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        verbose: ctx.verbose,
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
      connect: (account, signal) => connectAccount(account, config, ctx, signal),
      job: opts.job,
      force: opts.force,
      dryRun: opts.dryRun,
      cwd: ctx.cwd,
    });
  } finally {
    stop.dispose();
    text?.done();
  }

  if (opts.json) ctx.stdout.write(formatJson(result));
  else if (opts.dryRun) {
    for (const r of result.jobs) {
      ctx.stdout.write(
        `job ${r.job}: would upload ${r.plan?.upload.length ?? 0}, delete ${r.plan?.delete.length ?? 0}\n`,
      );
      for (const p of r.plan?.upload ?? []) ctx.stdout.write(`  + ${p}\n`);
      for (const p of r.plan?.delete ?? []) ctx.stdout.write(`  - ${p}\n`);
    }
  } else if (ctx.verbose > 0) {
    for (const r of result.jobs) {
      ctx.stdout.write(
        `job ${r.job}: ${r.outcome}, ${r.files} uploaded (${r.bytes} bytes), ${r.deleted} deleted, ${r.unchanged} unchanged, ${r.failed.length} failed, ${r.durationMs} ms\n`,
      );
    }
  }

  if (result.exitCode !== 0) throw summaryError(result, ctx, Boolean(opts.json));
  return result;
}

/**
 * Ctrl-C / SIGTERM: the first one aborts the run: transfers in flight stop within seconds (their
 * temp files are dropped, nothing half-sent is recorded; a file already being committed lands and
 * is recorded). A second one exits at once with 130, leaving only temp names the next run cleans up.
 */
export function onInterrupt(ctx: CliContext): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
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
  program
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
    .option('--config <path>', 'config file (default: $OTPBACKUP_CONFIG or ~/.config/otpbackup/config.yaml)')
    .action(async (opts: RunOptions) => {
      await runCommand(opts, ctx);
    });
}
