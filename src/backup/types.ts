// Results of a backup run, as printed by --json and recorded for `status`.
import type { FileFailure } from '../ui/reporter.js';

export type Outcome = 'ok' | 'partial' | 'failed' | 'locked' | 'dry-run';

export interface JobResult {
  job: string;
  outcome: Outcome;
  /** Files uploaded, and their bytes. */
  files: number;
  bytes: number;
  /** Files skipped on purpose (symlinks not followed, special files, vanished before upload). */
  skipped: number;
  /** Remote files deleted (mirror) or moved to .versions (versions). */
  deleted: number;
  /** Old versions removed by retention. */
  pruned: number;
  unchanged: number;
  failed: FileFailure[];
  durationMs: number;
  /** TOTP time step (or HOTP counter) spent on the login, when the transport reports it. */
  loginStep?: number;
  /** The error that stopped the job, if any. */
  error?: { code: string; message: string; hint?: string };
  /** With --verify: how the server compared with the manifest after the job (counts). */
  verify?: { ok: boolean; missing: number; extra: number; mismatched: number };
  /** Things the user should know although the job went on (an unreadable state file moved aside). */
  warnings?: string[];
  /** With --dry-run: what would be done. */
  plan?: { upload: string[]; delete: string[] };
}

export interface RunResult {
  jobs: JobResult[];
  exitCode: number;
}
