// What runDue calls around each job: the before hook (a failure skips the job) and the start ping,
// then after the job the after hook and success ping, or the onFailure hook and failure ping.
// A job's own `hooks` / `notify` keys win over the global ones, key by key.

import type { JobResult } from '../backup/types.js';
import type { Config, Hooks, Job, Notify } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { isSecretRef } from '../secrets/ref.js';
import { hookEnv } from './child-env.js';
import { type HookKind, runHook } from './hooks.js';
import { type NotifyTarget, ping } from './notify.js';

export function effectiveHooks(config: Config, job: Job): Hooks {
  return { ...config.hooks, ...job.hooks };
}

export function effectiveNotify(config: Config, job: Job): Notify | undefined {
  if (!config.notify && !job.notify) return undefined;
  return { ...config.notify, ...job.notify } as Notify;
}

/** OTPBACKUP_* variables describing a job's result (never a secret: counts, outcome, the error line). */
export function resultEnv(job: string, hook: HookKind, r?: JobResult): Record<string, string> {
  const e: Record<string, string> = { OTPBACKUP_JOB: job, OTPBACKUP_HOOK: hook };
  if (!r) return e;
  Object.assign(e, {
    OTPBACKUP_OUTCOME: r.outcome,
    OTPBACKUP_FILES: String(r.files),
    OTPBACKUP_BYTES: String(r.bytes),
    OTPBACKUP_DELETED: String(r.deleted),
    OTPBACKUP_FAILED: String(r.failed.length),
    OTPBACKUP_UNCHANGED: String(r.unchanged),
    OTPBACKUP_DURATION_MS: String(r.durationMs),
  });
  if (r.error) {
    e.OTPBACKUP_ERROR_CODE = r.error.code;
    e.OTPBACKUP_ERROR_MESSAGE = r.error.message.split('\n')[0] ?? '';
  }
  return e;
}

export interface JobHooksDeps {
  env: NodeJS.ProcessEnv;
  /** One line on stderr (a hook or ping that failed after the job: reported, never fatal). */
  warn(line: string): void;
  /** Resolves a notify.url given as a secret reference. */
  getSecret?: (ref: string) => Promise<string>;
  signal?: AbortSignal;
}

export class JobHooks {
  constructor(
    private readonly config: Config,
    private readonly deps: JobHooksDeps,
  ) {}

  /** True when the job has any hook or ping at all (so runDue can skip this machinery). */
  any(job: Job): boolean {
    const h = effectiveHooks(this.config, job);
    return Boolean(h.before || h.after || h.onFailure || effectiveNotify(this.config, job));
  }

  private async target(job: Job): Promise<NotifyTarget | undefined> {
    const n = effectiveNotify(this.config, job);
    if (!n?.url) return undefined;
    let url = n.url;
    if (isSecretRef(url)) {
      if (!this.deps.getSecret) return undefined;
      try {
        url = await this.deps.getSecret(url);
      } catch (e) {
        this.deps.warn(`job ${job.name}: notify.url: ${(e as Error).message}`);
        return undefined;
      }
    }
    return { ...n, url, ...(n.timeout !== undefined ? { timeoutS: n.timeout } : {}) };
  }

  private async hook(job: Job, kind: HookKind, r?: JobResult): Promise<string | undefined> {
    const h = effectiveHooks(this.config, job);
    const argv = h[kind];
    if (!argv) return undefined;
    return runHook(argv, {
      env: hookEnv(this.deps.env, this.config, resultEnv(job.name, kind, r)),
      ...(h.timeout !== undefined ? { timeoutS: h.timeout } : {}),
      ...(this.deps.signal ? { signal: this.deps.signal } : {}),
    });
  }

  /** Runs the before hook; a failure is the job's error (exit 1, job skipped). Then the start ping. */
  async before(job: Job): Promise<OtpBackupError | undefined> {
    const failed = await this.hook(job, 'before');
    if (failed)
      return new OtpBackupError('hook', `hooks.before: ${failed}; the job was skipped`, {
        hint: 'fix the hook, or run it by hand to see why',
      });
    const t = await this.target(job);
    if (t) {
      const p = await ping(t, 'start');
      if (p) this.deps.warn(`job ${job.name}: ${p}`);
    }
    return undefined;
  }

  /** After the job: the after hook and success ping, or onFailure and the failure ping. Never throws. */
  async after(job: Job, r: JobResult): Promise<void> {
    if (r.outcome === 'locked' || r.outcome === 'dry-run') return;
    const ok = r.outcome === 'ok';
    const failed = await this.hook(job, ok ? 'after' : 'onFailure', r);
    if (failed) this.deps.warn(`job ${job.name}: hooks.${ok ? 'after' : 'onFailure'}: ${failed}`);
    const t = await this.target(job);
    if (!t) return;
    const body = ok
      ? `${r.files} file(s), ${r.bytes} bytes uploaded`
      : (r.error?.message.split('\n')[0] ?? `${r.failed.length} file(s) failed`);
    const p = await ping(t, ok ? 'success' : 'failure', body);
    if (p) this.deps.warn(`job ${job.name}: ${p}`);
  }
}
