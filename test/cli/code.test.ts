// `otpbackup code`, spawned as users run it, plus one in-process run with an injected clock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { otpbackup, type RunResult } from './helpers.js';

// RFC 6238's SHA-1 seed ("12345678901234567890").
const S = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
const S256 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA';
const all: RunResult[] = [];
function run(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): RunResult {
  const r = otpbackup(args, opts);
  all.push(r);
  return r;
}
const tmp = mkdtempSync(join(tmpdir(), 'otpbackup-code-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A one-line error on stderr (plus an optional hint line), no stack trace. */
function assertUsageError(r: RunResult, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', message);
  assert.ok(lines.length <= 2, `more than message + hint:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
}

describe('otpbackup code', () => {
  it('prints the RFC 6238 code at t=59 and nothing else', () => {
    const r = run(['code', '--secret-env', 'S', '--at', '59', '--digits', '8'], { env: { S } });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, '94287082\n');
    assert.equal(r.status, 0);
  });
  it('takes ISO-8601 times, algorithms and periods', () => {
    let r = run(['code', '--secret-env', 'S', '--at', '2005-03-18T01:58:29Z', '--digits', '8'], {
      env: { S },
    });
    assert.equal(r.stdout, '07081804\n');
    r = run(['code', '--secret-env', 'S', '--at', '2005-03-18 01:58:29', '--digits', '8'], { env: { S } });
    assert.equal(r.stdout, '07081804\n', 'an ISO time without zone is UTC');
    r = run(['code', '--secret-env', 'K', '--algorithm', 'sha256', '--digits', '8', '--at', '1111111109'], {
      env: { K: S256 },
    });
    assert.equal(r.stdout, '68084774\n');
    // period 60, at 119: step 1, which is RFC 4226 counter 1.
    r = run(['code', '--secret-env', 'S', '--period', '60', '--at', '119'], { env: { S } });
    assert.equal(r.stdout, '287082\n');
    r = run(['code', '--secret-env', 'S', '--t0', '30', '--at', '89', '--digits', '8'], { env: { S } });
    assert.equal(r.stdout, '94287082\n');
  });
  it('computes HOTP codes with --counter', () => {
    const r = run(['code', '--secret-env', 'S', '--counter', '9'], { env: { S } });
    assert.equal(r.stdout, '520489\n');
    assertUsageError(
      run(['code', '--secret-env', 'S', '--counter', '1', '--remaining'], { env: { S } }),
      /--remaining applies to TOTP only/,
    );
  });
  it('--remaining adds the seconds left on stderr only', () => {
    const r = run(['code', '--secret-env', 'S', '--at', '59', '--remaining'], { env: { S } });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, '287082\n');
    assert.equal(r.stderr, '1s remaining\n');
    const now = run(['code', '--secret-env', 'S', '--remaining'], { env: { S } });
    assert.match(now.stdout, /^\d{6}\n$/);
    const secs = Number(/^(\d+)s remaining\n$/.exec(now.stderr)?.[1]);
    assert.ok(secs >= 1 && secs <= 30, now.stderr);
  });
  it('reads the seed from stdin, a file, or an otpauth URI', () => {
    let r = run(['code', '--secret-stdin', '--at', '59', '--digits', '8'], { input: `${S.toLowerCase()}\n` });
    assert.equal(r.stdout, '94287082\n');
    const file = join(tmp, 'seed');
    writeFileSync(file, 'gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n', { mode: 0o600 });
    r = run(['code', '--secret-file', file, '--at', '59', '--digits', '8']);
    assert.equal(r.stdout, '94287082\n');
    const U = `otpauth://totp/ACME:alice?secret=${S}&digits=8&issuer=ACME`;
    r = run(['code', '--uri-env', 'U', '--at', '59'], { env: { U } });
    assert.equal(r.stdout, '94287082\n');
    r = run(['code', '--uri-env', 'U', '--at', '59', '--digits', '6'], { env: { U } });
    assert.equal(r.stdout, '287082\n', 'flags override the URI');
    r = run(['code', '--uri-env', 'U'], { env: { U: `otpauth://hotp/x?secret=${S}&counter=9` } });
    assert.equal(r.stdout, '520489\n');
  });
  it('fails with exit 2 and one line for bad flags and missing seeds', () => {
    assertUsageError(
      run(['code', '--secret-env', 'S', '--bogus'], { env: { S } }),
      /unknown option '--bogus'/,
    );
    assertUsageError(
      run(['code', '--secret-env', 'NOT_SET_X']),
      /^otpbackup: --secret-env: no environment variable of that name is set/,
    );
    assertUsageError(
      run(['code', '--secret-env', 'S', '--digits', '9'], { env: { S } }),
      /--digits: must be 6, 7 or 8/,
    );
    assertUsageError(
      run(['code', '--secret-env', 'S', '--algorithm', 'md5'], { env: { S } }),
      /--algorithm: must be sha1/,
    );
    assertUsageError(
      run(['code', '--secret-env', 'S', '--period', '0'], { env: { S } }),
      /--period: must be a positive/,
    );
    assertUsageError(
      run(['code', '--secret-env', 'S', '--at', 'soon'], { env: { S } }),
      /--at: not Unix seconds/,
    );
    assertUsageError(run(['code', '--secret-env', 'S', '--counter', '-3'], { env: { S } }), /--counter/);
    assertUsageError(run(['code']), /no seed given/);
    assertUsageError(
      run(['code', '--secret-env', 'S', '--secret-stdin'], { env: { S } }),
      /--secret-env and --secret-stdin cannot be combined/,
    );
    assertUsageError(
      run(['code', '--secret-file', join(tmp, 'nope')]),
      /--secret-file: cannot read .*nope: no such file/,
    );
    assertUsageError(
      run(['code', '--uri-env', 'S'], { env: { S } }),
      /--uri-env: \$S does not hold an otpauth/,
    );
    assertUsageError(
      run(['code', '--secret-env', S], { env: { S } }),
      /--secret-env: expects the name of an environment variable/,
    );
    assertUsageError(run(['code', '--secret-env', 'gezd gnbv']), /--secret-env: expects the name/);
    assertUsageError(
      run(['code', 'myaccount', '--secret-env', 'S'], { env: { S } }),
      /no account "myaccount"/,
    );
  });
  it('names a bad seed character and its position without printing the seed', () => {
    const bad = 'SUPERSECRETSEEDZZ1';
    const r = run(['code', '--secret-env', 'B'], { env: { B: bad } });
    assertUsageError(r, /seed from \$B: invalid Base32 character "1" at position 18/);
    assert.ok(!r.stderr.includes(bad.slice(0, 10)));
    const u = run(['code', '--uri-env', 'U'], { env: { U: `otpauth://totp/x?secret=${S}&digits=12` } });
    assertUsageError(u, /otpauth URI: digits: must be 6, 7 or 8/);
  });
  it('--help exits 0 and shows examples', () => {
    const r = run(['code', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: otpbackup code/);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /--secret-stdin/);
  });
  it('never prints the seed, in any form, on stdout or stderr', () => {
    assert.ok(all.length > 20);
    const seen = all.map((r) => r.stdout + r.stderr).join('\n');
    for (const form of [S, S.toLowerCase(), S256, 'gezd gnbv', 'GEZDGNBV']) {
      assert.ok(!seen.includes(form), `seed form ${form} leaked`);
    }
  });
});

describe('otpbackup code (in process)', () => {
  it('uses the injected clock when --at is not given', async () => {
    let out = '';
    let err = '';
    const ctx = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      stdin: process.stdin,
      env: { S },
      clock: new FakeClock(59_000),
      cwd: process.cwd(),
      debug: false,
      verbose: 0,
    };
    // main() reports process.exitCode, which the test runner sets to 1 once any test has failed.
    const saved = process.exitCode;
    process.exitCode = undefined;
    const code = await main(
      ['node', 'otpbackup', 'code', '--secret-env', 'S', '--digits', '8', '--remaining'],
      ctx,
    );
    process.exitCode = saved;
    assert.equal(code, 0, err);
    assert.equal(out, '94287082\n');
    assert.equal(err, '1s remaining\n');
  });
});
