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
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export async function statusCommand(
  opts: { json?: boolean; config?: string },
  ctx: CliContext,
): Promise<JobStatus[]> {
  const [{ loadConfig }, { readJobState }, { isDue, nextRun }, { redact }] = await Promise.all([
    import('../../config/load.js'),
    import('../../backup/job-state.js'),
    import('../../schedule/due.js'),
    import('../../secrets/redact.js'),
  ]);
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
    .option('--config <path>', 'config file (default: $OTPBACKUP_CONFIG or ~/.config/otpbackup/config.yaml)')
    .action(async (opts: { json?: boolean; config?: string }) => {
      await statusCommand(opts, ctx);
    });
}
