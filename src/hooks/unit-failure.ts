// The failure report of a systemd timer run (otpbackup-notify@.service, started by OnFailure=):
// a run that crashed, was killed (OOM, TimeoutStartSec) or could not read its config never ran its
// jobs' onFailure hooks or failure pings, so this does it with the config's own. A run that got as
// far as reporting its jobs leaves a record naming its systemd invocation; that failure was already
// reported, and is not reported twice.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Notify } from '../config/types.js';
import { isSecretRef } from '../secrets/ref.js';
import { hookEnv } from './child-env.js';
import { runHook } from './hooks.js';
import { type NotifyTarget, ping } from './notify.js';

interface RunRecord {
  /** systemd's INVOCATION_ID of the run (what MONITOR_INVOCATION_ID names in the OnFailure unit). */
  invocationId: string;
  exitCode: number;
  finishedMs: number;
}

function recordPath(stateDir: string): string {
  return join(stateDir, 'last-run.json');
}

/**
 * After `run` reported every job (hooks and pings done): under systemd (INVOCATION_ID set) records
 * that this invocation's outcome is reported. Best effort: a failure to write only means the
 * OnFailure unit reports once more.
 */
export async function recordRunReported(
  env: NodeJS.ProcessEnv,
  stateDir: string,
  exitCode: number,
  nowMs: number,
): Promise<void> {
  const invocationId = env.INVOCATION_ID;
  if (!invocationId || exitCode === 0) return;
  try {
    const { writeFileAtomic } = await import('../config/state-file.js');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const r: RunRecord = { invocationId, exitCode, finishedMs: nowMs };
    await writeFileAtomic(recordPath(stateDir), `${JSON.stringify(r)}\n`);
  } catch {
    // the OnFailure unit then reports it again: better twice than never
  }
}

/** Whether the run of this systemd invocation already reported its failure itself. */
export async function alreadyReported(stateDir: string, invocationId: string | undefined): Promise<boolean> {
  if (!invocationId) return false;
  try {
    const r = JSON.parse(await readFile(recordPath(stateDir), 'utf8')) as Partial<RunRecord>;
    return r.invocationId === invocationId;
  } catch {
    return false;
  }
}

/** "otpbackup.service failed (exit-code, status 1)" from systemd's MONITOR_* variables. */
export function failureMessage(unit: string, env: NodeJS.ProcessEnv): string {
  const detail = [
    env.MONITOR_SERVICE_RESULT,
    env.MONITOR_EXIT_STATUS ? `${env.MONITOR_EXIT_CODE ?? 'status'} ${env.MONITOR_EXIT_STATUS}` : undefined,
  ].filter(Boolean);
  return `${unit} failed${detail.length ? ` (${detail.join(', ')})` : ''}; see journalctl --user -u ${unit}`;
}

export interface UnitFailureDeps {
  env: NodeJS.ProcessEnv;
  getSecret?: (ref: string) => Promise<string>;
  warn(line: string): void;
}

/**
 * Runs the config's global hooks.onFailure and failure ping; where there are none, each job's own
 * (each distinct hook or URL once). Resolves with what was done, for -v and --json. Never throws.
 */
export async function reportUnitFailure(
  config: Config,
  unit: string,
  deps: UnitFailureDeps,
): Promise<{ hooks: number; pings: number; message: string }> {
  const message = failureMessage(unit, deps.env);
  const hooks = new Map<string, { argv: string[]; timeout?: number }>();
  const notifies = new Map<string, Notify>();
  const globalHook = config.hooks?.onFailure;
  if (globalHook) hooks.set(JSON.stringify(globalHook), { argv: globalHook, timeout: config.hooks?.timeout });
  if (config.notify?.url) notifies.set(config.notify.url, config.notify);
  for (const job of Object.values(config.jobs)) {
    const h = job.hooks?.onFailure;
    if (!globalHook && h) hooks.set(JSON.stringify(h), { argv: h, timeout: job.hooks?.timeout });
    const n = job.notify?.url ? { ...config.notify, ...job.notify } : undefined;
    if (!config.notify?.url && n?.url) notifies.set(n.url, n as Notify);
  }
  const extra = {
    OTPBACKUP_JOB: '',
    OTPBACKUP_HOOK: 'onFailure',
    OTPBACKUP_OUTCOME: 'failed',
    OTPBACKUP_UNIT: unit,
    OTPBACKUP_ERROR_CODE: 'unit-failed',
    OTPBACKUP_ERROR_MESSAGE: message,
  };
  let ranHooks = 0;
  for (const { argv, timeout } of hooks.values()) {
    const failed = await runHook(argv, {
      env: hookEnv(deps.env, config, extra),
      ...(timeout !== undefined ? { timeoutS: timeout } : {}),
    });
    ranHooks++;
    if (failed) deps.warn(`hooks.onFailure: ${failed}`);
  }
  let pings = 0;
  for (const n of notifies.values()) {
    let url = n.url;
    if (isSecretRef(url)) {
      if (!deps.getSecret) continue;
      try {
        url = await deps.getSecret(url);
      } catch (e) {
        deps.warn(`notify.url: ${(e as Error).message}`);
        continue;
      }
    }
    const t: NotifyTarget = { ...n, url, ...(n.timeout !== undefined ? { timeoutS: n.timeout } : {}) };
    const problem = await ping(t, 'failure', message);
    if (problem) deps.warn(problem);
    else pings++;
  }
  return { hooks: ranHooks, pings, message };
}
