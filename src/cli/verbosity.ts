// One verbosity ladder for every command (README "Verbosity"; the global --help says the same):
//   (none)   errors and warnings on stderr; stdout only what the command is for (or its --json).
//   -v       what was done: a summary line per job or upload (and a job's plan), "nothing is due".
//   -vv      also each file, and each login step (step waits, auth methods, prompts, reconnects).
//   --debug  also the protocol (FTP commands and replies, SSH messages), secrets masked, and stack
//            traces of errors. --debug implies -vv.
import type { CliContext } from './context.js';

/** The level after the flags: 0, 1 (-v), 2 (-vv or more), 3 (--debug). */
export function level(ctx: Pick<CliContext, 'verbose' | 'debug'>): number {
  return ctx.debug ? 3 : Math.min(ctx.verbose, 2);
}

/** Where login steps and transport notes go (stderr, prefixed), at -vv and --debug; else undefined. */
export function stepLog(ctx: CliContext, prefix: string): ((line: string) => void) | undefined {
  return level(ctx) >= 2 ? (line) => ctx.stderr.write(`${prefix}: ${line}\n`) : undefined;
}

/** Transport options for the ladder: the step log, and the protocol trace with --debug. */
export function transportLogging(
  ctx: CliContext,
  prefix: string,
): { log?: (line: string) => void; trace?: boolean } {
  const log = stepLog(ctx, prefix);
  return { ...(log ? { log } : {}), ...(ctx.debug ? { trace: true } : {}) };
}
