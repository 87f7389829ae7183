// Turns an error into stderr lines and an exit code. Kept free of commander so the fast path of
// `otpbackup run` (cli/entry.ts) reports exactly like the full CLI without loading it.
// With --json, stdout also gets one document on failure, of the shape every --json command uses:
// {"ok": false, "exitCode": N, "error": {"code", "message", "hint"}} (plus the command's own fields
// when it got as far as a result, as `run` and `upload` do).
import { ExitCode, OtpBackupError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import type { CliContext } from './context.js';

export interface JsonError {
  code: string;
  message: string;
  hint?: string;
  details?: string[];
}

/** The `error` member of a --json document (redacted). */
export function jsonError(e: unknown): JsonError {
  if (e instanceof OtpBackupError) {
    return {
      code: e.code,
      message: redact(e.message),
      ...(e.hint ? { hint: redact(e.hint) } : {}),
      ...(e.details?.length ? { details: e.details.map(redact) } : {}),
    };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return { code: 'internal', message: redact(err.message.split('\n')[0] ?? '') };
}

/**
 * Prints a command's one --json document: `ok` first, then the command's fields, then `error` when it
 * failed. Marks the document written, so a failure reported afterwards adds no second one.
 */
export function printJson(
  ctx: CliContext,
  doc: object,
  opts: { error?: unknown; pretty?: boolean } = {},
): void {
  const out = {
    ok: opts.error === undefined,
    ...doc,
    ...(opts.error !== undefined ? { error: jsonError(opts.error) } : {}),
  };
  ctx.stdout.write(`${redact(JSON.stringify(out, null, opts.pretty ? 2 : undefined))}\n`);
  ctx.jsonWritten = true;
}

/** The failure document of a --json command that printed none (bad flags, config, login, ...). */
export function printJsonFailure(ctx: CliContext, e: unknown, exitCode: number): void {
  if (!ctx.json || ctx.jsonWritten) return;
  printJson(ctx, { exitCode }, { error: e });
}

export function reportFailure(e: unknown, ctx: CliContext, debug: boolean): number {
  if (e instanceof OtpBackupError) {
    ctx.stderr.write(`otpbackup: ${redact(e.message)}\n`);
    if (e.hint) ctx.stderr.write(`  hint: ${redact(e.hint)}\n`);
    if (debug && e.stack) ctx.stderr.write(`${redact(e.stack)}\n`);
    printJsonFailure(ctx, e, e.exitCode);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  ctx.stderr.write(`otpbackup: unexpected error: ${redact(err.message.split('\n')[0] ?? '')}\n`);
  ctx.stderr.write(
    debug ? `${redact(err.stack ?? '')}\n` : '  hint: run again with --debug for details, and report it\n',
  );
  printJsonFailure(ctx, err, ExitCode.failed);
  return ExitCode.failed;
}
