// runDue: which jobs are due, one login per account for all of its due jobs, a lock per job,
// state and log written after each job, one exit code for the whole run.

import { join } from 'node:path';
import { jobStateDir } from '../config/paths.js';
import { acquireLock, type Lock } from '../config/state-file.js';
import type { Account, Config, Job } from '../config/types.js';
import { ExitCode, OtpBackupError } from '../errors.js';
import { Manifest } from '../scan/manifest.js';
import { type ManifestView, type ScanOptions, type ScanSpec, scan } from '../scan/scan.js';
import type { ScanResult } from '../scan/types.js';
import type { Clock } from '../schedule/clock.js';
import { nextRun } from '../schedule/due.js';
import { type BandwidthLimiter, createLimiter } from '../transport/bwlimit.js';
import type { Transport } from '../transport/types.js';
import { type Reporter, silentReporter } from '../ui/reporter.js';
import { emptyResult, interrupted, isFatal, jobRemoteRoot, runJob } from './engine.js';
import { HISTORY_RUNS, type NextRun, readJobState, takeJobStateWarning, writeJobState } from './job-state.js';
import { appendLog } from './log.js';
import { selectJobs } from './select.js';
import type { JobResult, RunResult } from './types.js';
import { loadLedger, saveLedger, type VersionsLedger } from './versions.js';

export interface RunDueDeps {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  reporter?: Reporter;
  /** Creates a transport for the account and logs in (the one-time code is computed then). */
  /** Logs in; `signal` (Ctrl-C / SIGTERM) abandons a login in progress. */
  connect(account: Account, signal?: AbortSignal): Promise<Transport & { loginStep?: number }>;
  /** Run this job now, due or not. */
  job?: string;
  force?: boolean;
  dryRun?: boolean;
  cwd?: string;
  scan?: (spec: ScanSpec, manifest: ManifestView, opts: ScanOptions) => Promise<ScanResult>;
  /** Aborted on Ctrl-C: in-flight files finish, the rest of the run is skipped. */
  signal?: AbortSignal;
  /** `run --verify`: after each job, compare the server with the manifest on the same login. */
  verify?: boolean;

  /** Where a failed after-hook or ping is reported (one line); default: nowhere. */
  warn?: (line: string) => void;
  /** --bwlimit: one bucket for the whole run, over every job's and account's own bwlimit ('none':
   *  --bwlimit 0, no limit at all). */
  limiter?: BandwidthLimiter | 'none';
  /** Resolves secret references (a notify.url given as env:/file:/…). */
  getSecret?: (ref: string) => Promise<string>;
}

/** The run's bucket (--bwlimit), else one for the job from its own or its account's bwlimit. */
function limiterFor(
  job: Job,
  account: Account,
  run?: BandwidthLimiter | 'none',
): { limiter?: BandwidthLimiter } {
  if (run === 'none') return {};
  if (run) return { limiter: run };
  const rate = job.bwlimit ?? account.bwlimit;
  return rate ? { limiter: createLimiter(rate) } : {};
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

/** The job's next scheduled time after this run, stored so the next `run` needs no cron parser. */
function nextAfter(job: Job, afterMs: number): NextRun | undefined {
  try {
    return {
      afterMs,
      schedule: job.schedule,
      timezone: job.timezone,
      atMs: nextRun(job.schedule, afterMs, job.timezone),
    };
  } catch {
    return undefined; // an invalid schedule is reported by the config check; the parser decides then
  }
}

/** Whether runJob will use the transport after this scan. */
function hasWork(
  job: Job,
  s: ScanResult,
  manifestSize: number,
  ledger: VersionsLedger | undefined,
  nowMs: number,
): boolean {
  return (
    s.added.length > 0 ||
    s.changed.length > 0 ||
    s.touched.length > 0 ||
    s.deleted.length > 0 ||
    // Pruning is by age too: due when the local list of kept versions says so (or is unknown).
    (job.retention !== undefined && ledger?.pruneDue(job.retention, nowMs) === true) ||
    manifestSize === 0 // a first run creates the remote directory, even for an empty source
  );
}

/** Where a job's list of kept versions lives (versions mode with retention). */
export function ledgerPath(env: NodeJS.ProcessEnv, job: string): string {
  return join(jobStateDir(env, job), 'versions.json');
}

/** The remote place a ledger describes: a change of server, user or directory invalidates it. */
function placeOf(account: Account, job: Job): string {
  return `${account.protocol}://${account.user}@${account.host}:${account.port}${jobRemoteRoot(account.remoteDir, job.remoteDir)}`;
}

/**
 * Stands in for a login nobody needs: with nothing to do runJob only ensures the remote root,
 * which exists since the run that recorded the manifest's files.
 */
function offlineTransport(): Transport {
  const unused = async (): Promise<never> => {
    throw new OtpBackupError('internal', 'the run decided no login was needed, then used the server');
  };
  return {
    concurrency: 1,
    offline: true,
    connect: async () => {},
    mkdirp: async () => {},
    close: async () => {},
    put: unused,
    get: unused,
    stat: unused,
    list: unused,
    rename: unused,
    remove: unused,
  };
}

/** `run --verify`: differences become failed files of the job (exit 3), to be sent again next run. */
async function verifyAfter(
  config: Config,
  deps: RunDueDeps,
  job: Job,
  r: JobResult,
  transport: Transport,
  manifest: Manifest,
): Promise<void> {
  const [{ verifyJob }, { sourcePathOf, sourceRoots }] = await Promise.all([
    import('../restore/verify.js'),
    import('../scan/scan.js'),
  ]);
  try {
    const root = jobRemoteRoot(config.accounts[job.account]!.remoteDir, job.remoteDir);
    const v = await verifyJob(transport, root, manifest, {
      localPathOf: sourcePathOf(sourceRoots(job, deps.cwd)),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    r.verify = {
      ok: v.ok,
      missing: v.missing.length,
      extra: v.extra.length,
      mismatched: v.mismatched.length,
    };
    for (const p of v.missing)
      r.failed.push({ path: p, reason: 'verify: missing on the server; sent again next run' });
    for (const m of v.mismatched)
      r.failed.push({ path: m.path, reason: `verify: ${m.reason}; sent again next run` });
    for (const p of v.extra)
      r.failed.push({ path: p, reason: 'verify: on the server but not in the manifest' });
    if (!v.ok && r.outcome === 'ok') r.outcome = 'partial';
  } catch (e) {
    r.error = { code: asOtpError(e).code, message: `verify: ${asOtpError(e).message}` };
    r.outcome = 'failed';
  }
}

export async function runDue(config: Config, deps: RunDueDeps): Promise<RunResult> {
  const reporter = deps.reporter ?? silentReporter;
  const jobs = await selectJobs(config, deps);
  // Group by account: jobs sharing an account share one login (one one-time code).
  const byAccount = new Map<string, Job[]>();
  for (const j of jobs) byAccount.set(j.account, [...(byAccount.get(j.account) ?? []), j]);

  const results: JobResult[] = [];
  // Hooks and pings load only when some job has one: the common cron run stays as lean as before.
  const hooks = jobs.some((j) => config.hooks || config.notify || j.hooks || j.notify)
    ? new (await import('../hooks/job-hooks.js')).JobHooks(config, {
        env: deps.env,
        warn: deps.warn ?? (() => {}),
        ...(deps.getSecret ? { getSecret: deps.getSecret } : {}),
        ...(deps.signal ? { signal: deps.signal } : {}),
      })
    : undefined;
  const warnings = new Map<string, string[]>();
  const finish = async (job: Job, r: JobResult, startedMs: number) => {
    const w = warnings.get(job.name);
    if (w?.length) r.warnings = [...(r.warnings ?? []), ...w];
    results.push(r);
    if (deps.dryRun || r.outcome === 'locked') return;
    await hooks?.after(job, r);
    const prev = await readJobState(deps.env, job.name);
    // Read (and moved aside, if unreadable) when the job was selected, or just now.
    const stateWarning = takeJobStateWarning(job.name);
    if (stateWarning) {
      reporter.warning?.(job.name, stateWarning);
      r.warnings = [stateWarning, ...(r.warnings ?? [])];
    }
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
      next: nextAfter(job, startedMs),
      history: [
        {
          atMs: startedMs,
          outcome: r.outcome,
          files: r.files,
          bytes: r.bytes,
          failed: r.failed.length,
          durationMs: r.durationMs,
          ...(r.error ? { error: r.error.message.split('\n')[0] ?? '' } : {}),
        },
        ...(prev.history ?? []),
      ].slice(0, HISTORY_RUNS),
    });
    await appendLog(deps.env, startedMs, r);
  };

  for (const [accountName, group] of byAccount) {
    if (deps.signal?.aborted) break;
    const account = config.accounts[accountName];
    const locks: Lock[] = [];
    const ready: { job: Job; manifest: Manifest; ledger?: VersionsLedger }[] = [];
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
        const refused = !deps.dryRun && hooks ? await hooks.before(job) : undefined;
        if (refused) {
          await finish(job, emptyResult(job.name, 'failed', refused), deps.clock.now());
          continue;
        }
        const manifest = await Manifest.load(jobStateDir(deps.env, job.name), { readOnly: deps.dryRun });
        for (const w of manifest.warnings) reporter.warning?.(job.name, w);
        if (manifest.warnings.length) warnings.set(job.name, manifest.warnings);
        if (job.mode === 'versions' && job.retention) {
          const ledger = await loadLedger(ledgerPath(deps.env, job.name), placeOf(account, job));
          ready.push({ job, manifest, ledger });
        } else ready.push({ job, manifest });
      }
      if (!account || ready.length === 0) continue;

      // Scan before logging in: when no job of the account has anything to send, delete or prune
      // (most cron runs), there is no login at all: no handshake, no one-time code spent.
      const scans = new Map<Job, () => Promise<ScanResult>>();
      let needLogin = false;
      for (const { job, manifest, ledger } of ready) {
        try {
          const s = await (deps.scan ?? scan)(job, manifest, { all: deps.force, cwd: deps.cwd });
          scans.set(job, async () => s);
          if (hasWork(job, s, manifest.size, ledger, deps.clock.now()) || deps.verify) needLogin = true;
        } catch (e) {
          scans.set(job, async () => Promise.reject(e)); // runJob reports it, as it always has
        }
      }

      let transport: (Transport & { loginStep?: number }) | undefined;
      let accountError: OtpBackupError | undefined;
      if (!deps.dryRun && !needLogin) transport = offlineTransport();
      else if (!deps.dryRun) {
        const startedMs = deps.clock.now();
        try {
          transport = await deps.connect(account, deps.signal);
        } catch (e) {
          accountError = deps.signal?.aborted ? interrupted() : asOtpError(e);
          for (const { job } of ready)
            await finish(job, emptyResult(job.name, 'failed', accountError), startedMs);
          continue;
        }
      }
      try {
        for (const { job, manifest, ledger } of ready) {
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
              scan: scans.get(job),
              signal: deps.signal,
              ...(ledger ? { versions: ledger } : {}),
              ...limiterFor(job, account, deps.limiter),
            });
          } catch (e) {
            r = emptyResult(job.name, 'failed', asOtpError(e));
            r.durationMs = deps.clock.now() - startedMs;
          }
          if (deps.verify && transport && !deps.dryRun && !r.error)
            await verifyAfter(config, deps, job, r, transport, manifest);
          if (ledger && !deps.dryRun) await saveLedger(ledgerPath(deps.env, job.name), ledger);
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
