// Turns an error into stderr lines and an exit code. Kept free of commander so the fast path of
// `otpbackup run` (cli/entry.ts) reports exactly like the full CLI without loading it.
import { ExitCode, OtpBackupError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import type { CliContext } from './context.js';

export function reportFailure(e: unknown, ctx: CliContext, debug: boolean): number {
  if (e instanceof OtpBackupError) {
    ctx.stderr.write(`otpbackup: ${redact(e.message)}\n`);
    if (e.hint) ctx.stderr.write(`  hint: ${redact(e.hint)}\n`);
    if (debug && e.stack) ctx.stderr.write(`${redact(e.stack)}\n`);
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  ctx.stderr.write(`otpbackup: unexpected error: ${redact(err.message.split('\n')[0] ?? '')}\n`);
  ctx.stderr.write(
    debug ? `${redact(err.stack ?? '')}\n` : '  hint: run again with --debug for details, and report it\n',
  );
  return ExitCode.failed;
}
