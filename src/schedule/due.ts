// When is a job due? Pure functions of (schedule, last run, now, time zone); no clock is read here.
//
// Rules:
// - A job is due when a scheduled time fell in (lastRun, now].
// - A job that never ran is due at once: a new job should not wait up to a year for its first
//   backup, and `otpbackup run` from cron then behaves like an initial sync.
// - A machine that was off runs a missed job once, not once per missed slot (only the next slot
//   after the last run is looked at).
// - DST: a slot that does not exist (02:30 on a spring-forward day) runs at the shifted time
//   (cron-parser moves it forward an hour), so the day is not skipped; a slot that exists twice
//   (02:30 on a fall-back day) runs once, for jobs with a fixed hour.
import { createRequire } from 'node:module';
import type { CronExpressionParser as Parser } from 'cron-parser';
import { OtpBackupError } from '../errors.js';

// cron-parser (with luxon) costs ~25 ms to load; every command that touches the config schema would
// pay it. It is a CommonJS package, so it can be required synchronously the first time a
// schedule is actually parsed.
let parser: typeof Parser | undefined;
function cronParser(): typeof Parser {
  parser ??= (createRequire(import.meta.url)('cron-parser') as typeof import('cron-parser'))
    .CronExpressionParser;
  return parser;
}

/** The @-forms we document; cron-parser knows more (@secondly...), which we do not promise. */
const ALIASES = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

const HOUR_MS = 3_600_000;

export interface ScheduleContext {
  /** Used in error messages, e.g. `jobs.home.schedule`. */
  field?: string;
}

function normalise(expr: string): string {
  const e = expr.trim();
  if (e === '@annually') return '@yearly';
  if (e === '@midnight') return '@daily';
  return e;
}

function checkTimeZone(tz: string, field: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new OtpBackupError('config', `${field}: unknown time zone "${tz}"`, {
      hint: 'use an IANA name such as "Europe/Berlin" or "UTC"',
    });
  }
}

function parse(expr: string, tz: string | undefined, currentDate: number, ctx: ScheduleContext = {}) {
  const field = ctx.field ?? 'schedule';
  const e = normalise(expr);
  const hint =
    'use 5 fields "min hour day month weekday" (e.g. "30 2 * * *"), 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly';
  if (e.startsWith('@')) {
    if (!ALIASES.has(e)) throw new OtpBackupError('config', `${field}: unknown schedule "${expr}"`, { hint });
  } else {
    const n = e.split(/\s+/).filter(Boolean).length;
    if (n !== 5 && n !== 6) {
      throw new OtpBackupError('config', `${field}: schedule "${expr}" has ${n} fields, expected 5 or 6`, {
        hint,
      });
    }
  }
  if (tz !== undefined) checkTimeZone(tz, field.replace(/schedule$/, 'timezone'));
  try {
    return cronParser().parse(e, { currentDate, tz });
  } catch (err) {
    throw new OtpBackupError('config', `${field}: invalid schedule "${expr}": ${(err as Error).message}`, {
      hint,
    });
  }
}

/** Throws OtpBackupError('config') naming the field and the fix when `expr` (or `tz`) is invalid. */
export function validateSchedule(expr: string, tz?: string, ctx: ScheduleContext = {}): void {
  const it = parse(expr, tz, Date.UTC(2026, 0, 1), ctx);
  try {
    it.next();
  } catch (err) {
    // e.g. "0 0 30 2 *": parses, but no date ever matches.
    throw new OtpBackupError(
      'config',
      `${ctx.field ?? 'schedule'}: schedule "${expr}" never fires: ${(err as Error).message}`,
      { hint: 'check the day-of-month and month fields' },
    );
  }
}

/** Wall-clock rendering in `tz`, to recognise the repeated hour of a fall-back day. */
function wallClock(ms: number, tz: string | undefined): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: tz ?? 'UTC',
    dateStyle: 'short',
    timeStyle: 'medium',
    hourCycle: 'h23',
  }).format(ms);
}

/** The first scheduled time strictly after `afterMs`. */
export function nextRun(schedule: string, afterMs: number, tz?: string): number {
  // cron-parser gives up ("loop limit exceeded") when its search crosses some DST changes, e.g. the
  // half-hour one of Australia/Lord_Howe, for schedules that are fine on other days. No slot lies
  // between the start and that change (the search would have returned it), so searching again from
  // just after the change loses nothing.
  let from = afterMs;
  for (let k = 0; ; k++) {
    try {
      return nextRunFrom(schedule, afterMs, from, tz);
    } catch (e) {
      if (e instanceof OtpBackupError) throw e;
      const change = k < 4 ? offsetChangeAfter(from, tz) : undefined;
      if (change === undefined) {
        throw new OtpBackupError(
          'config',
          `schedule "${schedule}": cannot compute the next run after ${new Date(afterMs).toISOString()} (${String((e as Error).message).split('\n')[0]})`,
          { hint: 'check the day-of-month, month and weekday fields, and the time zone' },
        );
      }
      from = change;
    }
  }
}

const offsetFormats = new Map<string | undefined, Intl.DateTimeFormat>();

function utcOffset(ms: number, tz: string | undefined): string {
  let f = offsetFormats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    offsetFormats.set(tz, f);
  }
  const parts = f.formatToParts(ms);
  return parts.find((p) => p.type === 'timeZoneName')?.value ?? '';
}

/** The first instant (to the second) after `ms` where the zone's UTC offset changes, within a year. */
function offsetChangeAfter(ms: number, tz: string | undefined): number | undefined {
  const start = utcOffset(ms, tz);
  const STEP = 6 * HOUR_MS;
  for (let lo = ms, i = 0; i < 1500; i++, lo += STEP) {
    if (utcOffset(lo + STEP, tz) === start) continue;
    let hi = lo + STEP;
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (utcOffset(mid, tz) === start) lo = mid;
      else hi = mid;
    }
    return hi;
  }
  return undefined;
}

function nextRunFrom(schedule: string, afterMs: number, fromMs: number, tz?: string): number {
  const it = parse(schedule, tz, fromMs);
  const fixedHour = !it.fields.hour.isWildcard;
  let t = it.next().getTime();
  // Fall-back day: 02:30 happens twice. If its first occurrence is at or before afterMs, the
  // second one is the same wall-clock slot and must not run the job again.
  if (fixedHour && t - HOUR_MS <= afterMs && wallClock(t - HOUR_MS, tz) === wallClock(t, tz)) {
    t = it.next().getTime();
  }
  return t;
}

/** Whether a scheduled time fell in (lastRunMs, nowMs]. A job never run (undefined) is due. */
export function isDue(schedule: string, lastRunMs: number | undefined, nowMs: number, tz?: string): boolean {
  if (lastRunMs === undefined) return true;
  if (lastRunMs >= nowMs) return false;
  return nextRun(schedule, lastRunMs, tz) <= nowMs;
}
