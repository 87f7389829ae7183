// otpbackup.log under stateDir: one line per run and per failure, for after-the-fact reading of
// cron runs. Every line goes through redact() as a last defence; nothing secret is put in anyway.
import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { stateDir } from '../config/paths.js';
import { stateWriteError } from '../config/state-file.js';
import { redact } from '../secrets/redact.js';
import type { JobResult } from './types.js';

export function logPath(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), 'otpbackup.log');
}

const clean = (s: string) => redact(s).replace(/[\r\n]+/g, ' ');

export function formatLog(atMs: number, r: JobResult): string[] {
  const at = new Date(atMs).toISOString();
  const lines = [
    `${at} job=${JSON.stringify(r.job)} outcome=${r.outcome} files=${r.files} bytes=${r.bytes} deleted=${r.deleted} skipped=${r.skipped} failed=${r.failed.length} ms=${r.durationMs}` +
      (r.error ? ` error=${JSON.stringify(clean(`${r.error.code}: ${r.error.message}`))}` : ''),
  ];
  for (const f of r.failed) {
    lines.push(
      `${at} job=${JSON.stringify(r.job)} failed path=${JSON.stringify(clean(f.path))} reason=${JSON.stringify(clean(f.reason))}`,
    );
  }
  return lines;
}

/** The log is rotated past this size: otpbackup.log → .1 → .2 → .3, the oldest dropped. */
export const LOG_MAX_BYTES = 1024 * 1024;
export const LOG_KEEP = 3;

/** Shifts otpbackup.log.N up by one (dropping the last) when the current log is over the cap. */
export async function rotateLog(path: string, maxBytes = LOG_MAX_BYTES, keep = LOG_KEEP): Promise<void> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return;
  }
  if (size < maxBytes) return;
  for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(() => {});
  await rename(path, `${path}.1`);
}

export async function appendLog(env: NodeJS.ProcessEnv, atMs: number, r: JobResult): Promise<void> {
  const path = logPath(env);
  try {
    await mkdir(stateDir(env), { recursive: true, mode: 0o700 });
    await rotateLog(path);
    await appendFile(path, `${formatLog(atMs, r).join('\n')}\n`, { mode: 0o600 });
  } catch (e) {
    throw stateWriteError(e, path); // a full disk is named, not an "unexpected error"
  }
}
