// Regressions found by test/fuzz/inputs.test.ts (cron).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRun } from '../../src/schedule/due.js';

describe('schedule regressions (fuzz)', () => {
  it('finds the next run across Lord Howe half-hour DST change (cron-parser gave up: plain Error)', () => {
    const tz = 'Australia/Lord_Howe';
    // Sunday 2026-04-05 04:05 local, just after the 02:00 (+11:00) -> 01:30 (+10:30) change.
    assert.equal(
      new Date(nextRun('5 4 * * Sun', Date.UTC(2026, 2, 29, 1, 30), tz)).toISOString(),
      '2026-04-04T17:35:00.000Z',
    );
    assert.equal(
      new Date(nextRun('5 4 * * *', Date.UTC(2026, 3, 4, 12), tz)).toISOString(),
      '2026-04-04T17:35:00.000Z',
    );
    // Unaffected days keep their answer.
    assert.equal(
      new Date(nextRun('5 4 * * *', Date.UTC(2026, 9, 3, 12), tz)).toISOString(),
      '2026-10-03T17:05:00.000Z',
    );
  });
});
