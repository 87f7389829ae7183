// Login discipline shared by every transport: fresh credentials per attempt, never a spent TOTP step
// or HOTP counter, at most one retry of a refused login (in a fresh step), and a cap on refused logins
// per account across runs, so a wrong seed or a skewed clock never locks the account on the server.
import { accountStatePath } from '../config/paths.js';
import { acquireLock, readJson, writeJson } from '../config/state-file.js';
import type { Account, Algorithm } from '../config/types.js';
import { isOtpBackupError, OtpBackupError } from '../errors.js';
import type { TemplateVar } from '../otp/index.js';
import {
  hotp,
  parseOtpauthUri,
  parseSecret,
  parseTemplate,
  stepStartMs,
  totpForStep,
  totpStep,
} from '../otp/index.js';
import type { Clock } from '../schedule/clock.js';
import { runFirstLine } from '../secrets/first-line.js';
import { childEnv, registerSecret } from '../secrets/redact.js';
import { backoffMs, shouldRetry } from './retry.js';

export interface Credentials {
  user: string;
  /** Resolved from the account's password reference. */
  password?: string;
  /** The one-time code for THIS attempt (TOTP/HOTP/prompt/command). */
  code?: string;
  /** For expandTemplate(account.template, vars). */
  vars: Partial<Record<TemplateVar, string>>;
  /** Which TOTP step / HOTP counter was spent. */
  step?: number;
  counter?: number;
  /** Set by the transport right BEFORE the code (or a template holding it) is written to the server.
   *  An attempt that failed with this unset (refused connection, wrong banner, TLS) never spent the
   *  code, so its step or counter is given back instead of waited out. */
  sent?: boolean;
}

/** Why a login waits, for a one-line notice (`onWait`); holds no secret. */
export interface LoginWait {
  account: string;
  ms: number;
  reason: 'step-spent' | 'step-ending' | 'failure-rate';
  /** A login of this account once succeeded with a reused code (otp.reuse: allow would skip step waits). */
  reuseAccepted?: boolean;
}

export interface CredentialSource {
  /** Fresh credentials for one login attempt. Waits for an unspent TOTP step (and past the end-of-step
   *  margin), advances+persists the HOTP counter BEFORE returning, persists the spent step under a lock. */
  next(signal?: AbortSignal): Promise<Credentials>;
  /** Outcome of the attempt made with the last credentials (failures are counted per account across runs). */
  failed(reason: string): Promise<void>;
  succeeded(): Promise<void>;
  /** The attempt failed before the code left the process (`sent` unset): give its step/counter back. */
  unused?(c: Credentials): Promise<void>;
}

/** What is persisted per account at accountStatePath(env, name). */
export interface AccountLoginState {
  /** Last TOTP step spent on a login attempt. */
  lastStep?: number;
  /** Next HOTP counter to use. */
  counter?: number;
  /** Times (ms) of recent refused logins, oldest first; pruned after FAILURE_KEEP_MS. */
  failures?: number[];
  lastSuccess?: number;
  /** When a login succeeded with a TOTP step already spent before (the server accepts reuse). */
  reuseAccepted?: number;
}

/** Refused logins allowed per run, and per minute per account across runs. */
export const MAX_FAILED_PER_RUN = 2;
export const MAX_FAILED_PER_MINUTE = 3;
const MINUTE_MS = 60_000;
const FAILURE_KEEP_MS = 10 * MINUTE_MS;
const COMMAND_TIMEOUT_MS = 30_000;

// Refused logins per source (one source = one account in one run), whatever loop drives it.
const runFailures = new WeakMap<CredentialSource, number>();

function utcNow(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reconnects after a retryable network fault at login: one, so an unreachable server fails in seconds. */
export const LOGIN_NETWORK_RETRIES = 1;

/**
 * Runs `attempt` with fresh credentials; on an OtpBackupError with code 'auth' retries at most once in a
 * fresh step (never > 2 failed logins per run, never > 3 per minute per account across runs); network
 * errors (retryable) back off 1 s and retry once under the same discipline. An attempt that failed
 * before sending its code gives the step back (`unused`), so the retry does not wait for a fresh one.
 * Final auth failure:
 * OtpBackupError('auth') saying what was refused, the local UTC time, and that a skewed clock is a
 * common cause.
 */
export async function loginWithDiscipline<T>(
  source: CredentialSource,
  attempt: (c: Credentials) => Promise<T>,
  opts: {
    clock: Clock;
    signal?: AbortSignal;
    maxNetworkRetries?: number;
    /** false: a refused login is final (counted, never retried): an optional extra session's login. */
    retryRefused?: boolean;
  },
): Promise<T> {
  const maxNet = opts.maxNetworkRetries ?? LOGIN_NETWORK_RETRIES;
  let netFailures = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    if ((runFailures.get(source) ?? 0) >= MAX_FAILED_PER_RUN) {
      throw new OtpBackupError(
        'auth',
        `not logging in again: the server already refused ${MAX_FAILED_PER_RUN} logins in this run (local time ${utcNow(opts.clock)} UTC; a skewed clock is a common cause)`,
        {
          hint: 'check the password, the OTP seed and the login template, and that this machine’s clock is right',
        },
      );
    }
    const creds = await source.next(opts.signal);
    try {
      const result = await attempt(creds);
      await source.succeeded();
      return result;
    } catch (e) {
      // A refused login (auth) counts as spent whatever the transport saw: the server judged a code.
      if (!creds.sent && !(isOtpBackupError(e) && e.code === 'auth'))
        await source.unused?.(creds).catch(() => {});
      if (isOtpBackupError(e) && e.code === 'auth') {
        await source.failed(e.message);
        const n = (runFailures.get(source) ?? 0) + 1;
        runFailures.set(source, n);
        // Once more, in a fresh step (next() waits for it).
        if (n < MAX_FAILED_PER_RUN && opts.retryRefused !== false) continue;
        throw new OtpBackupError(
          'auth',
          `${e.message}; refused ${n} times, local time ${utcNow(opts.clock)} UTC (a skewed clock is a common cause)`,
          {
            // A transport's own hint (e.g. the prompt that may want password+code) comes first.
            hint: `${e.hint ? `${e.hint}; otherwise ` : ''}check the password, the OTP seed, digits/period/algorithm and the login template; compare this machine’s clock with a time server (e.g. \`timedatectl\`)`,
            cause: e,
          },
        );
      }
      if (shouldRetry(e) && netFailures < maxNet) {
        netFailures++;
        await opts.clock.sleep(backoffMs(netFailures - 1), opts.signal);
        continue;
      }
      throw e;
    }
  }
}

interface OtpKey {
  secret: Uint8Array;
  algorithm: Algorithm;
  digits: number;
  period: number;
}

/** Runs the account's otp.command (argv, no shell) and returns the first line of its stdout. */
function runCodeCommand(account: Account, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<string> {
  const argv = account.otp.command ?? [];
  const [file] = argv;
  const what = `otp.command of account "${account.name}"`;
  if (!file)
    return Promise.reject(
      new OtpBackupError('config', `${what} is empty`, {
        hint: 'give the program and its arguments as a list',
      }),
    );
  return runFirstLine(argv, {
    env: childEnv(env),
    timeoutMs: COMMAND_TIMEOUT_MS,
    what: `${what}:`,
    notFoundCode: 'config',
    ...(signal ? { signal } : {}),
  }).then((out) => {
    const line = out.trim();
    if (!line) throw new OtpBackupError('secret', `${what} (${file}) printed no code`);
    return line;
  });
}

/**
 * TEST ONLY: OTPBACKUP_TEST_OTP_CLOCK_OFFSET_MS=<ms> shifts the clock the one-time codes are computed
 * from (and nothing else), so the fault tests can simulate a skewed local clock against a real server.
 */
function otpClock(clock: Clock, env: NodeJS.ProcessEnv): Clock {
  const offset = Number(env.OTPBACKUP_TEST_OTP_CLOCK_OFFSET_MS ?? 0);
  if (!Number.isFinite(offset) || offset === 0) return clock;
  return { now: () => clock.now() + offset, sleep: (ms, signal) => clock.sleep(ms, signal) };
}

/**
 * The real CredentialSource: one per account and run. Secrets are resolved lazily (at the first
 * login), codes at each call of next().
 */
export function createCredentialSource(opts: {
  account: Account;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Resolves SecretRef values (env:, file:, vault:, ...). */
  getSecret: (ref: string) => Promise<string>;
  /** For otp.type 'prompt'. */
  promptCode?: (message: string) => Promise<string>;
  /** Progress notes such as "waiting 12 s for a fresh TOTP step"; never receives secrets. */
  log?: (line: string) => void;
  /** Told before each wait (fresh step, end of step, refused-login rate), so a person sees why. */
  onWait?: (w: LoginWait) => void;
}): CredentialSource {
  const { account } = opts;
  const clock = otpClock(opts.clock, opts.env);
  const otp = account.otp;
  const statePath = accountStatePath(opts.env, account.name);
  const lockPath = `${statePath}.lock`;
  const log = opts.log ?? (() => {});
  let password: string | undefined;
  let key: OtpKey | undefined;
  /** After a refused login the retry must use a later step even when reuse is allowed. */
  let mustAdvance = false;
  /** lastStep as it was before each step we claimed, to give an unsent step back. */
  const before = new Map<number, number | undefined>();
  /** The last credentials reused a step spent before (reuse: allow). */
  let reused = false;
  const wait = (ms: number, reason: LoginWait['reason'], s: AccountLoginState) =>
    opts.onWait?.({
      account: account.name,
      ms,
      reason,
      ...(s.reuseAccepted !== undefined ? { reuseAccepted: true } : {}),
    });

  async function update<T>(fn: (s: AccountLoginState) => T): Promise<T> {
    // Lock contention is about real processes, so it is waited for in real time, not on the injected clock.
    const lock = await acquireLock(lockPath, {
      waitMs: 15_000,
      what: `login state of account "${account.name}"`,
    });
    try {
      const s = (await readJson<AccountLoginState>(statePath)) ?? {};
      const out = fn(s);
      await writeJson(statePath, s);
      return out;
    } finally {
      lock.release();
    }
  }

  async function getPassword(): Promise<string | undefined> {
    if (!account.password) {
      if (parseTemplate(account.template).usesPassword) {
        throw new OtpBackupError(
          'config',
          `accounts.${account.name}.template uses \${PASSWORD} but the account has no password`,
          {
            hint: 'set accounts.<name>.password to a secret reference, or change the template',
          },
        );
      }
      return undefined;
    }
    if (password === undefined) {
      password = await opts.getSecret(account.password);
      registerSecret(password);
    }
    return password;
  }

  async function getKey(): Promise<OtpKey> {
    if (key) return key;
    if (!otp.secret) {
      throw new OtpBackupError('config', `accounts.${account.name}.otp.secret is missing`, {
        hint: 'set it to a reference to the Base32 seed, e.g. keychain:otpbackup/NAME',
      });
    }
    const text = (await opts.getSecret(otp.secret)).trim();
    registerSecret(text);
    if (/^otpauth:\/\//i.test(text)) {
      // A stored otpauth URI carries the parameters that belong to its seed.
      const info = parseOtpauthUri(text);
      key = { secret: info.secret, algorithm: info.algorithm, digits: info.digits, period: info.period };
    } else {
      key = { secret: parseSecret(text), algorithm: otp.algorithm, digits: otp.digits, period: otp.period };
    }
    return key;
  }

  /** Waits while the account has too many recent refused logins (across runs). */
  async function respectFailureRate(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = clock.now();
      const s = (await readJson<AccountLoginState>(statePath)) ?? {};
      const recent = (s.failures ?? []).filter((t) => t > now - MINUTE_MS && t <= now).sort((a, b) => a - b);
      if (recent.length < MAX_FAILED_PER_MINUTE) return;
      const until = (recent[recent.length - MAX_FAILED_PER_MINUTE] ?? now) + MINUTE_MS;
      log(
        `account ${account.name}: ${recent.length} refused logins in the last minute; waiting ${Math.ceil((until - now) / 1000)} s`,
      );
      wait(until - now, 'failure-rate', s);
      await clock.sleep(Math.max(until - now, 1), signal);
    }
  }

  async function nextTotp(k: OtpKey, signal?: AbortSignal): Promise<{ code: string; step: number }> {
    const periodMs = k.period * 1000;
    const marginMs = Math.min((otp.marginSeconds ?? 3) * 1000, periodMs / 2);
    const forbidReuse = otp.reuse !== 'allow';
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const step = totpStep(now, k.period, otp.t0);
      const s = (await readJson<AccountLoginState>(statePath)) ?? {};
      let minStep =
        forbidReuse || mustAdvance ? (s.lastStep ?? Number.NEGATIVE_INFINITY) + 1 : Number.NEGATIVE_INFINITY;
      if (minStep - step > 2) {
        // A step far in the future was spent while the clock ran ahead; waiting for it could take hours.
        log(`account ${account.name}: recorded TOTP step lies in the future (clock changed?); ignoring it`);
        minStep = step;
      }
      let waitUntil = 0;
      const spent = step < minStep;
      if (spent) waitUntil = stepStartMs(minStep, k.period, otp.t0);
      else if (stepStartMs(step + 1, k.period, otp.t0) - now < marginMs)
        waitUntil = stepStartMs(step + 1, k.period, otp.t0);
      if (waitUntil > now) {
        const ms = waitUntil - now;
        // With onWait, the caller tells the person (cli/wait-notice.ts); no second line.
        if (ms >= 1000 && !opts.onWait)
          log(`account ${account.name}: waiting ${Math.ceil(ms / 1000)} s for a fresh TOTP step`);
        wait(ms, spent ? 'step-spent' : 'step-ending', s);
        await clock.sleep(ms, signal);
        continue;
      }
      // Claim the step under the lock; another process may have spent it since we looked.
      const claimed = await update((st) => {
        if (
          (forbidReuse || mustAdvance) &&
          st.lastStep !== undefined &&
          st.lastStep >= step &&
          st.lastStep - step <= 2
        )
          return false;
        before.set(step, st.lastStep);
        reused = st.lastStep !== undefined && st.lastStep >= step && st.lastStep - step <= 2;
        st.lastStep = step;
        return true;
      });
      if (!claimed) continue;
      return { code: totpForStep(k.secret, step, k), step };
    }
  }

  return {
    async next(signal) {
      signal?.throwIfAborted();
      const pw = await getPassword();
      await respectFailureRate(signal);
      const creds: Credentials = { user: account.user, vars: { USER: account.user } };
      if (pw !== undefined) {
        creds.password = pw;
        creds.vars.PASSWORD = pw;
      }
      let code: string;
      switch (otp.type) {
        case 'totp': {
          const r = await nextTotp(await getKey(), signal);
          code = r.code;
          creds.step = r.step;
          break;
        }
        case 'hotp': {
          const k = await getKey();
          // Persisted before the code leaves the process: a crash must never lead to reuse.
          const counter = await update((st) => {
            const c = Math.max(st.counter ?? 0, otp.counter ?? 0);
            st.counter = c + 1;
            return c;
          });
          code = hotp(k.secret, counter, k);
          creds.counter = counter;
          break;
        }
        case 'prompt': {
          if (!opts.promptCode) {
            throw new OtpBackupError(
              'usage',
              `account "${account.name}" has otp.type: prompt, which needs a terminal to type the one-time code on`,
              {
                hint: 'run interactively, or use otp.type totp, hotp or command for unattended runs',
              },
            );
          }
          code = (
            await opts.promptCode(
              `One-time code for ${account.user}@${account.host} (account ${account.name}):`,
            )
          ).trim();
          if (!code)
            throw new OtpBackupError('usage', `no one-time code given for account "${account.name}"`);
          break;
        }
        case 'command':
          code = await runCodeCommand(account, opts.env, signal);
          break;
        default:
          throw new OtpBackupError(
            'config',
            `accounts.${account.name}.otp.type "${String(otp.type)}" is unknown`,
            {
              hint: 'use totp, hotp, prompt or command',
            },
          );
      }
      registerSecret(code);
      mustAdvance = false;
      creds.code = code;
      // ${OTP} is the code whatever its kind; ${TOTP}/${HOTP} only where the kind matches (or is unknown).
      creds.vars.OTP = code;
      if (otp.type !== 'hotp') creds.vars.TOTP = code;
      if (otp.type !== 'totp') creds.vars.HOTP = code;
      return creds;
    },

    async failed(_reason) {
      mustAdvance = true;
      const now = clock.now();
      await update((st) => {
        st.failures = [...(st.failures ?? []).filter((t) => t > now - FAILURE_KEEP_MS && t <= now), now];
      });
    },

    async succeeded() {
      const now = clock.now();
      await update((st) => {
        st.lastSuccess = now;
        if (reused) st.reuseAccepted = now;
      });
    },

    async unused(c) {
      // Only when nobody spent a later step / counter meanwhile (another process may have).
      await update((st) => {
        if (c.step !== undefined && st.lastStep === c.step) {
          const prev = before.get(c.step);
          if (prev === undefined) delete st.lastStep;
          else st.lastStep = prev;
        }
        if (c.counter !== undefined && st.counter === c.counter + 1) st.counter = c.counter;
      });
    },
  };
}
