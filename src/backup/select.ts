// Which jobs run now. Kept apart from the engine so `otpbackup run` with nothing due loads only
// the config and the job state files (and the schedule parser only when a state lacks a next time).
import type { Config, Job } from '../config/types.js';
import { usageError } from '../errors.js';
import type { Clock } from '../schedule/clock.js';
import { dueFromState, readJobState } from './job-state.js';

/** Jobs to run now: the named one, or every due job. */
export async function selectJobs(
  config: Config,
  deps: { env: NodeJS.ProcessEnv; clock: Clock; job?: string },
): Promise<Job[]> {
  if (deps.job !== undefined) {
    const job = config.jobs[deps.job];
    if (!job) {
      const names = Object.keys(config.jobs);
      throw usageError(
        `unknown job "${deps.job}"`,
        names.length
          ? `jobs in ${config.path}: ${names.join(', ')}`
          : `no jobs are defined in ${config.path}`,
      );
    }
    return [job];
  }
  const now = deps.clock.now();
  const due: Job[] = [];
  for (const job of Object.values(config.jobs)) {
    const st = await readJobState(deps.env, job.name);
    // The cron parser loads only when the state has no usable next time (see job-state.ts).
    let d = dueFromState(job, st, now);
    if (d === undefined) {
      const { isDue } = await import('../schedule/due.js');
      d = isDue(job.schedule, st.lastRunMs, now, job.timezone);
    }
    if (d) due.push(job);
  }
  return due;
}
