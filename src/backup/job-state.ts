// Per-job state for `status` and the scheduler: last run, outcome, last error. Small JSON file in
// jobStateDir, written atomically.
import { join } from 'node:path';
import { jobStateDir } from '../config/paths.js';
import { readJson, writeJson } from '../config/state-file.js';
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
}

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

export async function readJobState(env: NodeJS.ProcessEnv, job: string): Promise<JobState> {
  return (await readJson<JobState>(jobStatePath(env, job))) ?? {};
}

export async function writeJobState(env: NodeJS.ProcessEnv, job: string, s: JobState): Promise<void> {
  await writeJson(jobStatePath(env, job), s);
}
