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
