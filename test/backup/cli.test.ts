// `otpbackup run` and `status` as a user runs them: the built CLI in a child process.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jobStatePath } from '../../src/backup/job-state.js';
import { lockPath } from '../../src/backup/run-due.js';
import { runSync } from '../support/cli.js';

const SEED = 'JBSWY3DPEHPK3PXPJBSWY3DP';
let dir: string;
let env: NodeJS.ProcessEnv;

function cli(...args: string[]) {
  // runSync registers the invocation with the leak guard and checks the output for every secret.
  const r = runSync(args, { env, timeoutMs: 60_000 });
  assert.ok(!`${r.stdout}${r.stderr}`.includes(SEED), 'the seed never appears in output');
  return r;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-cli-'));
  const src = join(dir, 'docs');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'a');
  writeFileSync(join(src, 'sub/b.txt'), 'b');
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'accounts:',
      '  nas:',
      '    protocol: ftp',
      '    host: 127.0.0.1',
      '    port: 1',
      '    user: backup',
      '    otp:',
      '      secret: env:NAS_TOTP_SEED',
      'jobs:',
      '  docs:',
      '    account: nas',
      `    sources: ${src}`,
      '    schedule: "0 3 * * *"',
      '',
    ].join('\n'),
  );
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CONFIG_HOME: join(dir, 'cfg'),
    OTPBACKUP_CONFIG: config,
    NAS_TOTP_SEED: SEED,
    CI: 'true',
  };
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('otpbackup run / status (CLI)', () => {
  it('--dry-run prints the plan and changes nothing', () => {
    const r = cli('run', '--job', 'docs', '--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /job docs: would upload 2, delete 0/);
    assert.match(r.stdout, /\+ a\.txt\n {2}\+ sub\/b\.txt/);
    const s = cli('status', '--json');
    assert.equal(s.status, 0, s.stderr);
    const st = JSON.parse(s.stdout);
    assert.equal(st.jobs[0].job, 'docs');
    assert.equal(st.jobs[0].lastRun, null, 'a dry run records no run');
    assert.equal(st.jobs[0].due, true);
  });

  it('with nothing due, run is silent and exits 0; status shows the last run', () => {
    const now = Date.now();
    mkdirSync(join(jobStatePath(env, 'docs'), '..'), { recursive: true });
    writeFileSync(
      jobStatePath(env, 'docs'),
      JSON.stringify({ lastRunMs: now, lastOutcome: 'partial', lastError: '1 file(s) failed' }),
    );
    const r = cli('run');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    const j = cli('run', '--json');
    assert.deepEqual(JSON.parse(j.stdout), { ok: true, jobs: [], exitCode: 0 });
    const s = cli('status');
    assert.match(s.stdout, /docs: last run .* \(partial\); next 20\d\d-/);
    assert.match(s.stdout, /last error: 1 file\(s\) failed/);
  });

  it('a second run of a locked job exits 5 at once with a hint', () => {
    mkdirSync(join(lockPath(env, 'docs'), '..'), { recursive: true });
    writeFileSync(lockPath(env, 'docs'), `${process.pid}\n`); // this test process is alive
    try {
      const t0 = Date.now();
      const r = cli('run', '--job', 'docs');
      assert.equal(r.status, 5, r.stderr);
      assert.ok(Date.now() - t0 < 10_000);
      assert.match(r.stderr, /^otpbackup: job docs: job "docs" is held by process \d+\n {2}hint: .+\n$/);
    } finally {
      rmSync(lockPath(env, 'docs'), { force: true });
    }
  });

  it('an unknown job exits 2', () => {
    const r = cli('run', '--job', 'nope');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown job "nope"/);
  });
});
