// What bin/otpbackup calls. A plain `otpbackup run` (cron, every few minutes) is parsed here by hand
// and goes straight to the run command, without loading commander and the other commands; any
// other command line, or anything about this one we are not sure of, goes to the full CLI
// (cli/main.ts), which parses, helps and complains exactly as before.

import { type RunOptions, runCommand } from './commands/run.js';
import type { CliContext } from './context.js';
import { defaultContext } from './context.js';
import { reportFailure } from './report.js';

const GLOBAL_FLAGS = new Set(['-v', '--verbose', '--debug']);
const RUN_FLAGS: Record<string, keyof RunOptions> = {
  '--json': 'json',
  '--dry-run': 'dryRun',
  '--force': 'force',
};
const RUN_VALUES: Record<string, 'config' | 'job'> = { '--config': 'config', '--job': 'job' };

export interface FastRun {
  opts: RunOptions;
  verbose: number;
  debug: boolean;
}

/**
 * The options of `otpbackup [-v|--debug]... run [run options]`, or undefined when commander must
 * decide (help, other commands, unknown or repeated options, missing values, `--`, `-vv`, ...).
 */
export function parseFastRun(args: readonly string[]): FastRun | undefined {
  const out: FastRun = { opts: {}, verbose: 0, debug: false };
  let sawRun = false;
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_FLAGS.has(a)) {
      if (a === '--debug') {
        if (out.debug) return undefined;
        out.debug = true;
      } else out.verbose++;
      continue;
    }
    if (!sawRun) {
      if (a !== 'run') return undefined;
      sawRun = true;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (seen.has(name)) return undefined;
    seen.add(name);
    const flag = RUN_FLAGS[name];
    if (flag !== undefined && eq < 0) {
      (out.opts as Record<string, unknown>)[flag] = true;
      continue;
    }
    const key = RUN_VALUES[name];
    if (key === undefined) return undefined;
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    out.opts[key] = value;
  }
  return sawRun ? out : undefined;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function cli(argv: string[], ctx: CliContext = defaultContext()): Promise<number> {
  const fast = parseFastRun(argv.slice(2));
  if (!fast) {
    const { main } = await import('./main.js');
    return main(argv, ctx);
  }
  ctx.verbose = fast.verbose;
  ctx.debug = fast.debug;
  ctx.json = Boolean(fast.opts.json);
  try {
    await runCommand(fast.opts, ctx);
    return ctx.exitCode ?? 0;
  } catch (e) {
    return reportFailure(e, ctx, fast.debug);
  }
}
