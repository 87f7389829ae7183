// Which jobs run now. Kept apart from the engine so `otpbackup run` with nothing due loads only
// the config, the schedule and the job state files.
import type { Config, Job } from '../config/types.js';
import { usageError } from '../errors.js';
import type { Clock } from '../schedule/clock.js';
import { isDue } from '../schedule/due.js';
import { readJobState } from './job-state.js';

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
    if (isDue(job.schedule, st.lastRunMs, now, job.timezone)) due.push(job);
  }
  return due;
}
