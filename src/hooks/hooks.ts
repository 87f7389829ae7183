// Job hooks (`hooks.before`, `hooks.after`, `hooks.onFailure`): programs run without a shell, with a
// timeout after which their whole process group is killed, told how the job went through
// OTPBACKUP_* variables, and never given a secret (child-env.ts). Their output is not shown, apart
// from the last line of stderr when one fails, redacted.
import { spawn } from 'node:child_process';
import { redact } from '../secrets/redact.js';

export const HOOK_TIMEOUT_S = 60;
/** Grace between SIGTERM and SIGKILL for a hook that overran. */
const KILL_GRACE_MS = 2000;
/** stderr kept for the failure message: a hook printing forever must not grow our memory. */
const STDERR_CAP = 4096;

export type HookKind = 'before' | 'after' | 'onFailure';

/** Why the hook failed (one line), or undefined when it exited 0. Never throws. */
export function runHook(
  argv: readonly string[],
  opts: { env: NodeJS.ProcessEnv; timeoutS?: number; signal?: AbortSignal },
): Promise<string | undefined> {
  const [prog, ...args] = argv;
  if (!prog) return Promise.resolve('the hook is empty');
  const timeoutMs = (opts.timeoutS ?? HOOK_TIMEOUT_S) * 1000;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      // detached: its own process group, so a timeout reaches the grandchildren too (sh -c "sleep").
      child = spawn(prog, args, { env: opts.env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    } catch (e) {
      return resolve(`could not start ${prog}: ${(e as Error).message}`);
    }
    let err = '';
    let why: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // already gone
      }
    };
    const stop = (reason: string) => {
      why ??= reason;
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(
      () => stop(`${prog} did not finish within ${timeoutMs / 1000} s; stopped`),
      timeoutMs,
    );
    const onAbort = () => stop(`${prog} stopped: interrupted`);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr?.on('data', (c: Buffer) => {
      if (err.length < STDERR_CAP) err += c.toString('utf8').slice(0, STDERR_CAP - err.length);
    });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // A grandchild may keep the pipe open after the hook exits: stop reading, do not wait for it.
      child.stderr?.destroy();
      resolve(result === undefined ? undefined : redact(result));
    };
    child.on('error', (e: NodeJS.ErrnoException) =>
      done(e.code === 'ENOENT' ? `${prog} not found` : `could not start ${prog}: ${e.code ?? e.message}`),
    );
    // 'exit', not 'close': 'close' waits for every holder of the pipes, grandchildren included.
    child.on('exit', (code, signal) => {
      if (why) return done(why);
      if (code === 0) return done(undefined);
      const last = err.trim().split(/\r?\n/).pop()?.slice(0, 300);
      done(`${prog} failed (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last}` : ''}`);
    });
  });
}
