// Runs one command and measures wall time and peak RSS. With GNU time (/usr/bin/time) the peak comes
// from the kernel's ru_maxrss of the child; without it, /proc/PID/status VmHWM is polled.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface Cmd {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Sample {
  ms: number;
  /** Peak resident set size in KiB, when it could be measured. */
  rssKb?: number;
  /** User + system CPU of the command and the children it waited for (GNU time %U %S), ms: on a
   *  busy machine the figure that does not depend on how many cores the others left. */
  cpuMs?: number;
}

const GNU_TIME = '/usr/bin/time';
export const rssMethod = existsSync(GNU_TIME) ? 'GNU time %M (ru_maxrss)' : '/proc/PID/status VmHWM polling';

/** PIDs of running commands, so an interrupt can end exactly those. */
export const running = new Set<number>();

let seq = 0;

export async function timed(c: Cmd, scratch: string, timeoutMs = 30 * 60_000): Promise<Sample> {
  const useTime = existsSync(GNU_TIME);
  const rssFile = join(scratch, `rss-${process.pid}-${seq++}`);
  const [cmd, args] = useTime
    ? [GNU_TIME, ['-f', '%U %S %M', '-o', rssFile, c.cmd, ...c.args]]
    : [c.cmd, c.args];
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, {
    env: c.env ?? process.env,
    cwd: c.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid) running.add(pid);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let hwm = 0;
  const poll =
    !useTime && pid
      ? setInterval(() => {
          readFile(`/proc/${pid}/status`, 'utf8')
            .then((s) => {
              const kb = Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0);
              if (kb > hwm) hwm = kb;
            })
            .catch(() => {});
        }, 20)
      : undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve([code, signal]));
  }).finally(() => {
    clearTimeout(timer);
    if (poll) clearInterval(poll);
    if (pid) running.delete(pid);
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let rssKb: number | undefined = hwm || undefined;
  let cpuMs: number | undefined;
  if (useTime) {
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    await rm(rssFile, { force: true });
    // GNU time writes "Command exited with non-zero status N" before the figure when it fails.
    const last = text.trim().split('\n').pop() ?? '';
    const m = /^([\d.]+) ([\d.]+) (\d+)$/.exec(last);
    if (m) {
      cpuMs = Math.round((Number(m[1]) + Number(m[2])) * 1000);
      rssKb = Number(m[3]);
    }
  }
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-5).join('\n  ');
    throw new Error(`${c.cmd} exited with ${signal ?? code}${tail ? `:\n  ${tail}` : ''}`);
  }
  return { ms, ...(rssKb === undefined ? {} : { rssKb }), ...(cpuMs === undefined ? {} : { cpuMs }) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
