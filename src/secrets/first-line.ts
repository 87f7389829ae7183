// Runs a program that prints a secret (cmd: references, otp.type: command, vault.passphraseCommand)
// and returns the first line of its stdout. One helper for all three, so each gets the same bounds
// (#14.6):
//   - time: the program runs in its own process group, and at the deadline (or on abort) the whole
//     group is killed and the wait ends at once — a grandchild that keeps stdout open
//     (`sh -c "sleep 40"`, a forked helper) can neither stretch the timeout nor hang the run;
//   - memory: only the first line is kept, at most MAX_LINE_BYTES (no line break within it is an
//     error). What follows it (pass entries carry more lines) is read and dropped, to learn the exit
//     status; past MAX_REST_BYTES the program is stopped with its group and its first line used, so
//     one that never stops printing (`yes`) costs 64 KiB of reading, not gigabytes. (Closing the
//     pipe instead would not do: Node's child stdio is a socket pair, and a program writing to a
//     closed one fails with ECONNRESET — indistinguishable from a real failure.)
// Run WITHOUT a shell and without a terminal; stdout and stderr are never shown, since either may
// hold the secret. Errors name the program only.

import { spawn } from 'node:child_process';
import { type ErrorCode, OtpBackupError } from '../errors.js';
import { childEnv } from './redact.js';

/** A secret is one short line; longer output is not one. */
export const MAX_LINE_BYTES = 4096;
/** Output after the first line read (and dropped) before the program is stopped. */
export const MAX_REST_BYTES = 64 * 1024;

export interface FirstLineOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Names the program's role in messages, e.g. 'vault passphrase command'. */
  what: string;
  signal?: AbortSignal;
  /** Error code when the program does not exist ('secret' unless the caller says otherwise). */
  notFoundCode?: ErrorCode;
}

/**
 * The first line of argv's stdout, without its line break ('' when it printed nothing). Rejects
 * with OtpBackupError('secret') on a non-zero exit, a timeout or an over-long line; with
 * signal.reason when aborted. Never waits past the deadline, whatever the program's children do.
 */
export function runFirstLine(argv: readonly string[], opts: FirstLineOptions): Promise<string> {
  const [prog, ...args] = argv;
  const { what, timeoutMs } = opts;
  if (!prog) return Promise.reject(new OtpBackupError('config', `${what} is empty`));
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
  return new Promise((resolve, reject) => {
    // detached: a process group of its own, so a kill reaches everything it started.
    const child = spawn(prog, args, {
      // Never a secret otpbackup holds, whoever calls (cmd:, otp.command, the vault's passphrase command).
      env: childEnv(opts.env ?? process.env),
      stdio: ['ignore', 'pipe', 'ignore'],
      shell: false,
      detached: true,
      windowsHide: true,
    });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let line: string | undefined; // set once a line break (or the end of output) was seen
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let rest = 0; // bytes after the first line

    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {} // already gone
    };
    const stopReading = () => {
      child.stdout.removeAllListeners('data');
      child.stdout.destroy();
    };
    const finish = (err: unknown, value?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      stopReading();
      // Also on success: what the program left running in its group (a child holding the pipe)
      // does not outlive it. Daemons such as gpg-agent start a session of their own and stay.
      killGroup();
      if (err !== undefined) reject(err);
      else resolve(value ?? '');
    };
    // Decides once both the line (or the end of output) and the exit status are known.
    const decide = () => {
      if (settled || line === undefined || exited === undefined) return;
      const { code, signal } = exited;
      if (code === 0) return finish(undefined, line);
      finish(
        new OtpBackupError(
          'secret',
          `${what} ${prog} failed (${signal ? `signal ${signal}` : `exit code ${code}`})`,
          {
            hint: `run it yourself to see why: ${prog} ...`,
          },
        ),
      );
    };

    const timer = setTimeout(() => {
      finish(
        new OtpBackupError('secret', `${what} ${prog} did not finish within ${timeoutMs / 1000} s`, {
          hint: 'make sure it does not wait for input (it runs without a terminal)',
        }),
      );
    }, timeoutMs);
    const onAbort = () => finish(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (c: Buffer) => {
      if (line !== undefined) {
        rest += c.length;
        if (rest > MAX_REST_BYTES) {
          killGroup(); // it would print forever: the first line is what we came for
          finish(undefined, line);
        }
        return;
      }
      const nl = c.indexOf(0x0a);
      const take = nl < 0 ? c : c.subarray(0, nl);
      if (bytes + take.length > MAX_LINE_BYTES) {
        return finish(
          new OtpBackupError(
            'secret',
            `${what} ${prog} printed more than ${MAX_LINE_BYTES} bytes without a line break`,
            {
              hint: 'it must print the secret alone on its first line',
            },
          ),
        );
      }
      chunks.push(take);
      bytes += take.length;
      if (nl >= 0) {
        line = Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
        chunks.length = 0;
        rest = c.length - nl - 1;
        decide();
      }
    });
    child.stdout.on('error', () => {}); // a broken pipe ends the output; the exit status decides
    child.stdout.on('end', () => {
      line ??= Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
      decide();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(
        new OtpBackupError(
          e.code === 'ENOENT' ? (opts.notFoundCode ?? 'secret') : 'secret',
          e.code === 'ENOENT' ? `${what} not found: ${prog}` : `${what} ${prog} could not start: ${e.code}`,
          { hint: 'check the command name and PATH (or give an absolute path)' },
        ),
      );
    });
    // 'exit', not 'close': 'close' waits for every holder of the pipe, grandchildren included.
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      if (line === undefined && !child.stdout.readableEnded) {
        // Output still in the pipe is read at once; only a child of its own holding the pipe open
        // keeps it from ending. Give that a moment, then take what was printed.
        const grace = setTimeout(() => {
          line ??= Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
          decide();
        }, 500);
        grace.unref();
        child.stdout.once('close', () => clearTimeout(grace));
        return;
      }
      decide();
    });
  });
}
