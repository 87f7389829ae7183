// The two ways a test runs the built CLI (`npm test` builds first): runSync() for one-shot commands,
// start()/cli() for runs a test must wait on, signal or kill. Both register what they hand the CLI
// with the leak guard (test/leak-guard.ts) and check everything it printed for those secrets, so
// every test that runs the CLI also proves it leaked nothing it was given.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertNoSecrets, noteInvocation } from '../leak-guard.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/otpbackup');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface SyncOptions {
  /** The whole environment of the child, on top of PATH and NO_COLOR=1. */
  env?: Record<string, string | undefined>;
  /** stdin text; default empty (closed). */
  input?: string;
  /** Working directory; default the repository root. */
  cwd?: string;
  /** Kill after this long; default 30 s. */
  timeoutMs?: number;
}

/** Runs `otpbackup ARGS` to completion; throws when its output holds a known secret. */
export function runSync(args: string[], opts: SyncOptions = {}): RunResult {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...opts.env };
  noteInvocation(args, env as NodeJS.ProcessEnv);
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 30_000,
  });
  assertNoSecrets(`${r.stdout}\n${r.stderr}`, `output of otpbackup ${args.slice(0, 2).join(' ')}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<CliRun>;
}

/** Starts the built CLI with exactly `env`; `done` resolves when it exits, and rejects only when its
 * output leaks a known secret. */
export function start(args: string[], env: NodeJS.ProcessEnv): Spawned {
  noteInvocation(args, env);
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('close', (status, signal) => {
      try {
        assertNoSecrets(`${stdout}\n${stderr}`, `output of otpbackup ${args.slice(0, 2).join(' ')}`);
      } catch (e) {
        return reject(e);
      }
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** start() and wait; SIGKILL after timeoutMs (a bound, not a budget: a hung CLI fails its test). */
export async function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  const s = start(args, env);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  try {
    return await s.done;
  } finally {
    clearTimeout(timer);
  }
}
