// runDue: which jobs are due, one login per account for all of its due jobs, a lock per job,
// state and log written after each job, one exit code for the whole run.
import { join } from 'node:path';
import { jobStateDir } from '../config/paths.js';
import { acquireLock, type Lock } from '../config/state-file.js';
import type { Account, Config, Job } from '../config/types.js';
import { ExitCode, OtpBackupError } from '../errors.js';
import { Manifest } from '../scan/manifest.js';
import type { ManifestView, ScanOptions, ScanSpec } from '../scan/scan.js';
import type { ScanResult } from '../scan/types.js';
import type { Clock } from '../schedule/clock.js';
import type { Transport } from '../transport/types.js';
import { type Reporter, silentReporter } from '../ui/reporter.js';
import { emptyResult, interrupted, isFatal, jobRemoteRoot, runJob } from './engine.js';
import { readJobState, writeJobState } from './job-state.js';
import { appendLog } from './log.js';
import { selectJobs } from './select.js';
import type { JobResult, RunResult } from './types.js';

export interface RunDueDeps {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  reporter?: Reporter;
  /** Creates a transport for the account and logs in (the one-time code is computed then). */
  connect(account: Account): Promise<Transport & { loginStep?: number }>;
  /** Run this job now, due or not. */
  job?: string;
  force?: boolean;
  dryRun?: boolean;
  cwd?: string;
  scan?: (spec: ScanSpec, manifest: ManifestView, opts: ScanOptions) => Promise<ScanResult>;
  /** Aborted on Ctrl-C: in-flight files finish, the rest of the run is skipped. */
  signal?: AbortSignal;
}

export function lockPath(env: NodeJS.ProcessEnv, job: string): string {
  return join(jobStateDir(env, job), 'lock');
}

function asOtpError(e: unknown): OtpBackupError {
  if (e instanceof OtpBackupError) return e;
  return new OtpBackupError('internal', e instanceof Error ? e.message : String(e), { cause: e });
}

const exitOf = (code: string) => new OtpBackupError(code as OtpBackupError['code'], '').exitCode;

/** The run's exit code: the first job error's code, else 3 when some file failed, else 0. */
export function overallExitCode(results: JobResult[]): number {
  const errored = results.find((r) => r.error);
  if (errored?.error) return exitOf(errored.error.code);
  if (results.some((r) => r.failed.length > 0)) return ExitCode.partial;
  return ExitCode.ok;
}

export async function runDue(config: Config, deps: RunDueDeps): Promise<RunResult> {
  const reporter = deps.reporter ?? silentReporter;
  const jobs = await selectJobs(config, deps);
  // Group by account: jobs sharing an account share one login (one one-time code).
  const byAccount = new Map<string, Job[]>();
  for (const j of jobs) byAccount.set(j.account, [...(byAccount.get(j.account) ?? []), j]);

  const results: JobResult[] = [];
  const finish = async (job: Job, r: JobResult, startedMs: number) => {
    results.push(r);
    if (deps.dryRun || r.outcome === 'locked') return;
    const prev = await readJobState(deps.env, job.name);
    await writeJobState(deps.env, job.name, {
      ...prev,
      lastRunMs: startedMs,
      lastOutcome: r.outcome,
      ...(r.outcome === 'ok' ? { lastSuccessMs: startedMs } : {}),
      lastError: r.error
        ? r.error.message
        : r.failed.length
          ? `${r.failed.length} file(s) failed`
          : undefined,
      lastFiles: r.files,
      lastBytes: r.bytes,
      lastFailed: r.failed.length,
      lastDurationMs: r.durationMs,
    });
    await appendLog(deps.env, startedMs, r);
  };

  for (const [accountName, group] of byAccount) {
    if (deps.signal?.aborted) break;
    const account = config.accounts[accountName];
    const locks: Lock[] = [];
    const ready: { job: Job; manifest: Manifest }[] = [];
    try {
      for (const job of group) {
        if (!account) {
          const err = new OtpBackupError(
            'config',
            `jobs.${job.name}.account: no account named "${accountName}"`,
            {
              hint: 'add the account or fix the name',
            },
          );
          await finish(job, emptyResult(job.name, 'failed', err), deps.clock.now());
          continue;
        }
        if (!deps.dryRun) {
          try {
            locks.push(await acquireLock(lockPath(deps.env, job.name), { what: `job "${job.name}"` }));
          } catch (e) {
            const err = asOtpError(e);
            if (err.code !== 'locked') throw err;
            await finish(job, emptyResult(job.name, 'locked', err), deps.clock.now());
            continue;
          }
        }
        ready.push({ job, manifest: await Manifest.load(jobStateDir(deps.env, job.name)) });
      }
      if (!account || ready.length === 0) continue;

      let transport: (Transport & { loginStep?: number }) | undefined;
      let accountError: OtpBackupError | undefined;
      if (!deps.dryRun) {
        const startedMs = deps.clock.now();
        try {
          transport = await deps.connect(account);
        } catch (e) {
          accountError = asOtpError(e);
          for (const { job } of ready)
            await finish(job, emptyResult(job.name, 'failed', accountError), startedMs);
          continue;
        }
      }
      try {
        for (const { job, manifest } of ready) {
          const startedMs = deps.clock.now();
          if (accountError) {
            // After an auth or network failure the same login would fail again: do not storm.
            await finish(job, emptyResult(job.name, 'failed', accountError), startedMs);
            continue;
          }
          let r: JobResult;
          try {
            r = await runJob(job, {
              transport,
              manifest,
              clock: deps.clock,
              reporter,
              remoteRoot: jobRemoteRoot(account.remoteDir, job.remoteDir),
              force: deps.force,
              dryRun: deps.dryRun,
              cwd: deps.cwd,
              scan: deps.scan,
              signal: deps.signal,
            });
          } catch (e) {
            r = emptyResult(job.name, 'failed', asOtpError(e));
            r.durationMs = deps.clock.now() - startedMs;
          }
          if (transport?.loginStep !== undefined) r.loginStep = transport.loginStep;
          if (
            r.error &&
            isFatal(new OtpBackupError(r.error.code as OtpBackupError['code'], r.error.message))
          ) {
            accountError = new OtpBackupError(r.error.code as OtpBackupError['code'], r.error.message, {
              hint: r.error.hint,
            });
          }
          await finish(job, r, startedMs);
        }
      } finally {
        await transport?.close().catch(() => {});
      }
    } finally {
      for (const { manifest } of ready) manifest.close();
      for (const l of locks) l.release();
    }
  }
  // Interrupted between jobs (nothing failed): still not a success.
  if (deps.signal?.aborted && !results.some((r) => r.error?.code === 'interrupted')) {
    const err = interrupted();
    return { jobs: results, exitCode: err.exitCode };
  }
  return { jobs: results, exitCode: overallExitCode(results) };
}
