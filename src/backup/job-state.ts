// Per-job state for `status` and the scheduler: last run, outcome, last error. Small JSON file in
// jobStateDir, written atomically.
import { join } from 'node:path';
import { jobStateDir } from '../config/paths.js';
import { quarantineFile, readJson, writeJson } from '../config/state-file.js';
import { OtpBackupError } from '../errors.js';
import type { Outcome } from './types.js';

export interface JobState {
  /** Start of the last attempt (ms); the scheduler counts from here, so a failing job is not retried in a storm. */
  lastRunMs?: number;
  lastOutcome?: Outcome;
  lastSuccessMs?: number;
  lastError?: string;
  lastFiles?: number;
  lastBytes?: number;
  lastFailed?: number;
  lastDurationMs?: number;
  /**
   * The first scheduled time after lastRunMs, computed when the run finished, so that "is anything
   * due?" needs no cron parser. Valid only while schedule, timezone and lastRunMs still match.
   */
  next?: NextRun;
  /** The last HISTORY_RUNS runs, newest first, for `status`. */
  history?: RunRecord[];
}

/** One run of a job as `status` shows it. */
export interface RunRecord {
  atMs: number;
  outcome: Outcome;
  files: number;
  bytes: number;
  failed: number;
  durationMs: number;
  error?: string;
}

/** Runs kept per job in its state file (a few hundred bytes each). */
export const HISTORY_RUNS = 20;

export interface NextRun {
  afterMs: number;
  schedule: string;
  timezone?: string;
  atMs: number;
}

/**
 * Whether the job is due, from its state alone; undefined when that takes the cron parser (no
 * stored next time, or one computed for another schedule, time zone or last run).
 */
export function dueFromState(
  job: { schedule: string; timezone?: string },
  st: JobState,
  nowMs: number,
): boolean | undefined {
  // The same two rules as schedule/due.ts isDue, which answers everything else.
  if (st.lastRunMs === undefined) return true;
  if (st.lastRunMs >= nowMs) return false;
  const n = st.next;
  if (
    n !== undefined &&
    n.afterMs === st.lastRunMs &&
    n.schedule === job.schedule &&
    n.timezone === job.timezone &&
    typeof n.atMs === 'number'
  ) {
    return n.atMs <= nowMs;
  }
  return undefined;
}

export function jobStatePath(env: NodeJS.ProcessEnv, job: string): string {
  return join(jobStateDir(env, job), 'state.json');
}

/** Warnings about job state files moved aside, per job, until run-due reports them with the job. */
const moved = new Map<string, string>();

/** The warning for `job` (once), if its state file was unreadable and moved aside. */
export function takeJobStateWarning(job: string): string | undefined {
  const w = moved.get(job);
  moved.delete(job);
  return w;
}

/**
 * The job's state; {} when there is none. An unreadable file (not JSON, not an object) would stop
 * every run of the job (#14.8): it is moved aside (unless readOnly, e.g. for `status`) and the job
 * counts as never run, so it is due — the worst it costs is one run more.
 */
export async function readJobState(
  env: NodeJS.ProcessEnv,
  job: string,
  opts: { readOnly?: boolean } = {},
): Promise<JobState> {
  const path = jobStatePath(env, job);
  let st: unknown;
  try {
    st = await readJson<unknown>(path);
  } catch (e) {
    if (!(e instanceof OtpBackupError) || !/is not valid JSON/.test(e.message)) throw e;
    st = null;
  }
  if (st === undefined) return {};
  if (typeof st === 'object' && st !== null && !Array.isArray(st)) return st as JobState;
  if (!opts.readOnly) {
    const to = quarantineFile(path);
    moved.set(job, `job state ${path} could not be read: moved to ${to}; the job counts as never run`);
  }
  return {};
}

export async function writeJobState(env: NodeJS.ProcessEnv, job: string, s: JobState): Promise<void> {
  await writeJson(jobStatePath(env, job), s);
}
