// The code of an account with `otp.type: prompt` is typed by a person, asked on the terminal just
// before it is sent (masked: it is short-lived, but has no business in the scrollback). Without a
// terminal there is no prompter, and the login fails naming the account (transport/login.ts).
import type { CliContext } from './context.js';

export type CodePrompter = (message: string) => Promise<string>;

/** A prompter when stdin and stderr are terminals (and, with `noCi`, CI is not set); else undefined. */
export function codePrompter(ctx: CliContext, opts: { noCi?: boolean } = {}): CodePrompter | undefined {
  if (!ctx.stdin.isTTY || !ctx.stderr.isTTY || (opts.noCi && ctx.env.CI)) return undefined;
  return async (message) => {
    const [{ password }, { interruptible }] = await Promise.all([
      import('@inquirer/prompts'),
      import('./account-interactive.js'),
    ]);
    // On stderr, so that stdout (e.g. --json) stays clean.
    return interruptible(() =>
      password(
        { message, mask: true, validate: (v) => /^\s*\S+\s*$/.test(v) || 'type the code' },
        { input: ctx.stdin, output: ctx.stderr as NodeJS.WritableStream },
      ),
    );
  };
}
