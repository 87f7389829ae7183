// Kept for older tests: the sync CLI spawner is test/support/cli.ts (runSync), wired to the leak guard.
import { type RunResult, runSync } from '../support/cli.js';

export { ROOT, type RunResult } from '../support/cli.js';

/** `otpbackup ARGS` with PATH, NO_COLOR=1 and opts.env as the whole environment. */
export function otpbackup(
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): RunResult {
  return runSync(args, opts);
}
