import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { isDue, nextRun, validateSchedule } from '../../src/schedule/due.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('isDue', () => {
  it('a never-run job is due at once', () => {
    assert.equal(isDue('0 3 * * *', undefined, t('2026-05-01T12:00:00Z')), true);
  });

  it('is due when a slot fell in (lastRun, now], inclusive of now', () => {
    const last = t('2026-05-01T03:00:00Z');
    assert.equal(isDue('0 3 * * *', last, t('2026-05-02T02:59:59Z')), false);
    assert.equal(isDue('0 3 * * *', last, t('2026-05-02T03:00:00Z')), true);
    // The run at exactly the slot does not make the same slot due again.
    assert.equal(isDue('0 3 * * *', last, last + 1000), false);
  });

  it('a machine that was off runs a missed job once, not once per slot', () => {
    const last = t('2026-05-01T03:00:00Z');
    const now = t('2026-05-10T12:00:00Z');
    assert.equal(isDue('0 3 * * *', last, now), true);
    // After that one run, nothing is due until the next slot.
    assert.equal(isDue('0 3 * * *', now, now + 60_000), false);
    assert.equal(nextRun('0 3 * * *', now), t('2026-05-11T03:00:00Z'));
  });

  it('respects the time zone', () => {
    // 02:30 in New York (EDT, UTC-4) is 06:30Z.
    const last = t('2026-06-01T07:00:00Z');
    assert.equal(iso(nextRun('30 2 * * *', last, 'America/New_York')), '2026-06-02T06:30:00.000Z');
    assert.equal(isDue('30 2 * * *', last, t('2026-06-02T06:29:00Z'), 'America/New_York'), false);
    assert.equal(isDue('30 2 * * *', last, t('2026-06-02T06:30:00Z'), 'America/New_York'), true);
    assert.equal(isDue('30 2 * * *', last, t('2026-06-02T06:29:00Z')), true, 'UTC by default');
  });

  it('DST spring forward (Europe/Berlin 2026-03-29): a 02:30 job still runs once that day', () => {
    const tz = 'Europe/Berlin';
    const last = t('2026-03-28T01:30:00Z'); // 02:30 CET on the 28th
    const next = nextRun('30 2 * * *', last, tz);
    // 02:30 does not exist; it runs in the shifted hour (03:30 CEST = 01:30Z), not skipped.
    assert.equal(iso(next), '2026-03-29T01:30:00.000Z');
    assert.equal(isDue('30 2 * * *', last, t('2026-03-29T01:29:00Z'), tz), false);
    assert.equal(isDue('30 2 * * *', last, t('2026-03-29T01:30:00Z'), tz), true);
    // And the next day is back to 02:30 CEST = 00:30Z.
    assert.equal(iso(nextRun('30 2 * * *', next, tz)), '2026-03-30T00:30:00.000Z');
  });

  it('DST fall back (Europe/Berlin 2026-10-25): a 02:30 job runs once, not twice', () => {
    const tz = 'Europe/Berlin';
    const last = t('2026-10-24T00:30:00Z');
    const first = nextRun('30 2 * * *', last, tz);
    assert.equal(iso(first), '2026-10-25T00:30:00.000Z'); // 02:30 CEST
    // A run that finished late, inside the repeated hour, must not fire again at 02:30 CET.
    const lateRun = t('2026-10-25T01:15:00Z');
    assert.equal(isDue('30 2 * * *', lateRun, t('2026-10-25T01:45:00Z'), tz), false);
    assert.equal(iso(nextRun('30 2 * * *', lateRun, tz)), '2026-10-26T01:30:00.000Z');
    assert.equal(iso(nextRun('30 2 * * *', first, tz)), '2026-10-26T01:30:00.000Z');
    // An hourly job (wildcard hour) keeps both 02:00s: they are different hours of real time.
    assert.equal(iso(nextRun('0 * * * *', t('2026-10-25T00:00:00Z'), tz)), '2026-10-25T01:00:00.000Z');
  });

  it('6-field expressions have seconds first', () => {
    const last = t('2026-01-01T00:00:00Z');
    assert.equal(iso(nextRun('*/15 * * * * *', last)), '2026-01-01T00:00:15.000Z');
    assert.equal(isDue('*/15 * * * * *', last, last + 14_999), false);
    assert.equal(isDue('*/15 * * * * *', last, last + 15_000), true);
  });

  it('@-forms', () => {
    const last = t('2026-01-01T00:00:00Z');
    assert.equal(iso(nextRun('@hourly', last)), '2026-01-01T01:00:00.000Z');
    assert.equal(iso(nextRun('@daily', last)), '2026-01-02T00:00:00.000Z');
    assert.equal(iso(nextRun('@weekly', last)), '2026-01-04T00:00:00.000Z'); // a Sunday
    assert.equal(iso(nextRun('@monthly', last)), '2026-02-01T00:00:00.000Z');
    assert.equal(iso(nextRun('@yearly', last)), '2027-01-01T00:00:00.000Z');
  });
});

describe('validateSchedule', () => {
  const bad: [string, string | undefined, RegExp][] = [
    ['61 * * * *', undefined, /jobs\.home\.schedule: invalid schedule "61 \* \* \* \*"/],
    ['* * *', undefined, /has 3 fields, expected 5 or 6/],
    ['', undefined, /has 0 fields/],
    ['* * * * * * *', undefined, /has 7 fields/],
    ['@often', undefined, /unknown schedule "@often"/],
    ['@secondly', undefined, /unknown schedule/],
    ['0 0 31 2 *', undefined, /invalid schedule|never fires/],
    ['0 3 * * *', 'Mars/Olympus', /jobs\.home\.timezone: unknown time zone "Mars\/Olympus"/],
  ];
  for (const [expr, tz, re] of bad) {
    it(`rejects ${JSON.stringify(expr)}${tz ? ` in ${tz}` : ''} as a config error (exit 2) naming the field`, () => {
      assert.throws(
        () => validateSchedule(expr, tz, { field: 'jobs.home.schedule' }),
        (e: unknown) => {
          assert.ok(e instanceof OtpBackupError);
          assert.equal(e.code, 'config');
          assert.equal(e.exitCode, 2);
          assert.match(e.message, re);
          assert.ok(e.hint && e.hint.length > 0);
          return true;
        },
      );
    });
  }
  it('accepts 5, 6 fields, @-forms and IANA zones', () => {
    for (const e of ['30 2 * * *', '0 30 2 * * *', '@daily', '@hourly', '0 9 * * MON-FRI', '@annually']) {
      validateSchedule(e, 'Europe/Berlin');
    }
  });
});
