// One stderr line before a login waits more than a moment (a fresh TOTP step, the end of a step, the
// refused-login cap): a silent 30 s pause looks like a hang. Shown on a terminal or with -v; cron
// runs (no TTY, no -v) stay silent.
import type { LoginWait } from '../transport/login.js';
import type { CliContext } from './context.js';

/** Waits up to this long go unmentioned. */
export const NOTICE_AFTER_MS = 2000;

/** The text of the notice; `reuseFix` names the setting that would skip step waits. */
export function waitText(w: LoginWait, reuseFix: string): string {
  const s = Math.ceil(w.ms / 1000);
  switch (w.reason) {
    case 'step-spent':
      return `account ${w.account}: waiting ${s} s for a fresh TOTP step: this step's code was already used, and a code is never sent twice (otp.reuse: forbid)${
        w.reuseAccepted ? `; this server accepted a reused code before, so ${reuseFix} skips this wait` : ''
      }`;
    case 'step-ending':
      return `account ${w.account}: waiting ${s} s for the next TOTP step: the current one ends too soon to log in with it`;
    case 'failure-rate':
      return `account ${w.account}: waiting ${s} s: the server refused 3 logins in the last minute, and otpbackup sends no more than that (lock-out guard)`;
  }
}

/** The onWait callback for a command, or undefined when nothing would be shown. */
export function waitNotice(ctx: CliContext, reuseFix: string): ((w: LoginWait) => void) | undefined {
  if (!ctx.stderr.isTTY && ctx.verbose < 1) return undefined;
  return (w) => {
    if (w.ms > NOTICE_AFTER_MS) ctx.stderr.write(`${waitText(w, reuseFix)}\n`);
  };
}
