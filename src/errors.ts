// One error type for everything the user can act on. Only cli/main catches and maps to exit codes.

/** Exit codes (DESIGN.md, "Conventions"). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  partial: 3,
  auth: 4,
  locked: 5,
  /** The server's host key or certificate differs from the one trusted (or is revoked): possible attack. */
  identityChanged: 6,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for --help and the man page (README has the same table). */
export const EXIT_CODES: [number, string][] = [
  [ExitCode.ok, 'ok'],
  [ExitCode.failed, 'failed'],
  [ExitCode.usage, 'usage or configuration error'],
  [ExitCode.partial, 'partial: some files failed (or verify found a difference)'],
  [ExitCode.auth, 'authentication refused'],
  [ExitCode.locked, 'locked: another run holds the job'],
  [ExitCode.identityChanged, 'server identity changed (host key or certificate): possibly an attack'],
  [ExitCode.interrupted, 'interrupted'],
];

/** Error kinds; each maps to one exit code. */
export type ErrorCode =
  | 'usage' // bad flag or argument
  | 'config' // bad config file, seed, template, cron expression
  | 'secret' // secret missing or unreadable
  | 'auth' // server refused the login
  | 'trust' // host key / certificate not trusted yet (unknown): the user may choose to trust it
  | 'trust-changed' // host key / pinned certificate differs from the trusted one, or is revoked
  | 'network' // connection reset, timeout, 421/426
  | 'remote' // server refused an operation (permission, quota, rename)
  | 'local' // local file system problem
  | 'partial' // some files failed
  | 'locked' // another run holds the lock
  | 'interrupted'
  | 'hook' // a job's before hook failed: the job was skipped
  | 'internal';

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  usage: ExitCode.usage,
  config: ExitCode.usage,
  secret: ExitCode.usage,
  auth: ExitCode.auth,
  trust: ExitCode.failed,
  'trust-changed': ExitCode.identityChanged,
  network: ExitCode.failed,
  remote: ExitCode.failed,
  local: ExitCode.failed,
  partial: ExitCode.partial,
  locked: ExitCode.locked,
  interrupted: ExitCode.interrupted,
  hook: ExitCode.failed,
  internal: ExitCode.failed,
};

export interface OtpErrorOptions {
  /** What the user can do about it; printed on its own line after the message. */
  hint?: string;
  /** Whether repeating the operation may succeed (network faults); auth faults never are. */
  retryable?: boolean;
  cause?: unknown;
  /** Individual problems (e.g. every config error), one line each; the message already lists them. */
  details?: string[];
}

export class OtpBackupError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly details: string[] | undefined;

  constructor(code: ErrorCode, message: string, opts: OtpErrorOptions = {}) {
    // One line only: a multi-line message would break cron mail and log parsing.
    super(message.replace(/[\r\n]+/g, ' '), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OtpBackupError';
    this.code = code;
    this.hint = opts.hint;
    this.retryable = opts.retryable ?? code === 'network';
    this.details = opts.details?.map((d) => d.replace(/[\r\n]+/g, ' '));
  }

  get exitCode(): ExitCodeValue {
    return exitFor[this.code];
  }
}

export function isOtpBackupError(e: unknown): e is OtpBackupError {
  return e instanceof OtpBackupError;
}

export const usageError = (message: string, hint?: string) => new OtpBackupError('usage', message, { hint });
