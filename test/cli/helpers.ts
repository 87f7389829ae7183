// Spawns the built CLI (`npm test` builds first) with a small, controlled environment.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertNoSecrets, noteInvocation } from '../leak-guard.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function otpbackup(
  args: string[],
  opts: { env?: Record<string, string>; input?: string } = {},
): RunResult {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', ...opts.env };
  noteInvocation(args, env);
  const r = spawnSync(process.execPath, ['bin/otpbackup', ...args], {
    cwd: ROOT,
    env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
  });
  // Whole-suite leak guard: no secret this file handed to the CLI may come back in its output.
  assertNoSecrets(`${r.stdout}\n${r.stderr}`, `output of otpbackup ${args.slice(0, 2).join(' ')}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
