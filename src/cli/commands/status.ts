// `otpbackup status`: per job, the last run, its outcome, when it is next due and the last error.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { printJson } from '../report.js';

export interface JobStatus {
  job: string;
  account: string;
  schedule: string;
  lastRun: string | null;
  outcome: string | null;
  lastSuccess: string | null;
  /** ISO time; "now" semantics when the job is already due. */
  nextDue: string;
  due: boolean;
  lastError: string | null;
  files: number | null;
  failed: number | null;
  /** The last runs, newest first (outcome, files, bytes, duration). */
  runs: {
    at: string;
    outcome: string;
    files: number;
    bytes: number;
    failed: number;
    durationMs: number;
    error?: string;
  }[];
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export async function statusCommand(
  opts: { json?: boolean; config?: string; runs?: string },
  ctx: CliContext,
): Promise<JobStatus[]> {
  const [{ loadConfig }, { readJobState }, { isDue, nextRun }, { redact }, { formatBytes }] =
    await Promise.all([
      import('../../config/load.js'),
      import('../../backup/job-state.js'),
      import('../../schedule/due.js'),
      import('../../secrets/redact.js'),
      import('../../ui/progress.js'),
    ]);
  const keep = opts.runs === undefined ? 5 : Number(opts.runs);
  if (!Number.isInteger(keep) || keep < 0) {
    const { usageError } = await import('../../errors.js');
    throw usageError(`--runs: expected a whole number, got "${opts.runs}"`);
  }
  const config = await loadConfig(ctx.env, opts.config);
  const now = ctx.clock.now();
  const out: JobStatus[] = [];
  for (const job of Object.values(config.jobs)) {
    const st = await readJobState(ctx.env, job.name, { readOnly: true });
    const due = isDue(job.schedule, st.lastRunMs, now, job.timezone);
    out.push({
      job: job.name,
      account: job.account,
      schedule: job.schedule + (job.timezone ? ` (${job.timezone})` : ''),
      lastRun: iso(st.lastRunMs),
      outcome: st.lastOutcome ?? null,
      lastSuccess: iso(st.lastSuccessMs),
      nextDue: due
        ? new Date(now).toISOString()
        : new Date(nextRun(job.schedule, st.lastRunMs ?? now, job.timezone)).toISOString(),
      due,
      lastError: st.lastError ? redact(st.lastError) : null,
      files: st.lastFiles ?? null,
      failed: st.lastFailed ?? null,
      runs: (st.history ?? []).slice(0, keep).map((h) => ({
        at: new Date(h.atMs).toISOString(),
        outcome: h.outcome,
        files: h.files,
        bytes: h.bytes,
        failed: h.failed,
        durationMs: h.durationMs,
        ...(h.error ? { error: redact(h.error) } : {}),
      })),
    });
  }
  if (opts.json) {
    printJson(ctx, { jobs: out }, { pretty: true });
    return out;
  }
  if (out.length === 0) {
    ctx.stdout.write(`no jobs in ${config.path}\n`);
    return out;
  }
  for (const s of out) {
    ctx.stdout.write(
      `${s.job}: last run ${s.lastRun ?? 'never'}${s.outcome ? ` (${s.outcome})` : ''}; next ${s.due ? 'due now' : s.nextDue}\n`,
    );
    if (s.lastError) ctx.stdout.write(`  last error: ${s.lastError}\n`);
    for (const r of s.runs)
      ctx.stdout.write(
        `  ${r.at.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')}  ${r.outcome.padEnd(7)} ${String(r.files).padStart(6)} files ${formatBytes(r.bytes).padStart(9)} ${(r.durationMs / 1000).toFixed(1).padStart(7)} s${r.failed ? `  ${r.failed} failed` : ''}\n`,
      );
  }
  return out;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('show each job: last run, outcome, next due time, last error')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup status
  otpbackup status --json
`,
    )
    .option('--json', 'print JSON')
    .option('--runs <n>', 'show the last N runs of each job (default 5; up to 20 are kept)')
    .addHelpText(
      'after',
      '\nEvery run is also logged to $XDG_STATE_HOME/otpbackup/otpbackup.log (rotated at 1 MB, 3 kept).',
    )
    .action(async (opts: { json?: boolean; config?: string; runs?: string }) => {
      await statusCommand(opts, ctx);
    });
}
