// What commands get instead of reaching for globals: streams, environment, clock.
// Tests construct their own; main() builds the real one.
import type { Clock } from '../schedule/clock.js';
import { systemClock } from '../schedule/clock.js';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliContext {
  stdout: Output;
  stderr: Output;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock: Clock;
  cwd: string;
  /** Set by the global --debug flag. */
  debug: boolean;
  /** Set by the global -v/--verbose flag (count). */
  verbose: number;
  /** -q/--quiet: the real stderr, set aside while the command runs (stderr is then a sink). */
  quietStderr?: Output;
  /** A command that finishes without throwing but wants a non-zero exit sets this. */
  exitCode?: number;
  /** The command was given --json: a failure is also printed as one JSON document on stdout. */
  json?: boolean;
  /** The command already printed its JSON document (which then carries the error itself). */
  jsonWritten?: boolean;
}

export function defaultContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: touching process.stdin sets up a stream, which `run` from cron never needs.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    clock: systemClock,
    cwd: process.cwd(),
    debug: false,
    verbose: 0,
  };
}

/** Whether fancy output (progress, colour) is allowed on this stream. */
export function isInteractive(ctx: CliContext, out: Output = ctx.stderr): boolean {
  return Boolean(out.isTTY) && !ctx.env.CI && ctx.env.TERM !== 'dumb';
}
