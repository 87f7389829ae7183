import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { readJobState } from '../../src/backup/job-state.js';
import { logPath } from '../../src/backup/log.js';
import { lockPath, runDue } from '../../src/backup/run-due.js';
import { acquireLock } from '../../src/config/state-file.js';
import type { Account, Config, Job } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { clearSecretsForTests, registerSecret } from '../../src/secrets/redact.js';
import { LocalTransport } from './local-transport.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-rundue-'));
  env = { HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
  mkdirSync(join(dir, 'remote'));
});
afterEach(() => {
  clearSecretsForTests();
  rmSync(dir, { recursive: true, force: true });
});

function account(name: string): Account {
  return {
    name,
    protocol: 'sftp',
    host: '127.0.0.1',
    port: 22,
    user: 'u',
    remoteDir: `/${name}`,
    template: '${TOTP}',
    otp: { type: 'totp', algorithm: 'sha1', digits: 6, period: 30, t0: 0, reuse: 'forbid', marginSeconds: 3 },
    trust: {},
  };
}

function job(name: string, acct: string, schedule = '0 3 * * *'): Job {
  const src = join(dir, 'src', name);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, `${name}.txt`), name);
  return {
    name,
    account: acct,
    sources: [src],
    remoteDir: name,
    schedule,
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
  };
}

function config(jobs: Job[], accounts = ['a', 'b']): Config {
  return {
    path: join(dir, 'config.yaml'),
    accounts: Object.fromEntries(accounts.map((n) => [n, account(n)])),
    jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
  };
}

describe('runDue', () => {
  it('runs due jobs, one login per account, records state; then nothing is due', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const cfg = config([job('j1', 'a'), job('j2', 'a'), job('j3', 'b')]);
    const connects: string[] = [];
    const transports: LocalTransport[] = [];
    const connect = async (acct: Account) => {
      connects.push(acct.name);
      const t = new LocalTransport(join(dir, 'remote'));
      transports.push(t);
      return Object.assign(t, { loginStep: 123 });
    };
    const r = await runDue(cfg, { env, clock, connect });
    assert.equal(r.exitCode, 0);
    assert.deepEqual(connects, ['a', 'b']);
    assert.deepEqual(
      r.jobs.map((j) => [j.job, j.outcome, j.files, j.loginStep]),
      [
        ['j1', 'ok', 1, 123],
        ['j2', 'ok', 1, 123],
        ['j3', 'ok', 1, 123],
      ],
    );
    assert.ok(transports.every((t) => t.closed));
    assert.equal(readFileSync(join(dir, 'remote/a/j1/j1.txt'), 'utf8'), 'j1');
    const st = await readJobState(env, 'j1');
    assert.equal(st.lastRunMs, clock.now());
    assert.equal(st.lastOutcome, 'ok');
    assert.match(readFileSync(logPath(env), 'utf8'), /job="j3" outcome=ok files=1/);

    clock.advance(60_000);
    const r2 = await runDue(cfg, { env, clock, connect });
    assert.deepEqual(r2.jobs, []);
    assert.equal(connects.length, 2, 'nothing due: no login at all');
    clock.set(Date.UTC(2026, 4, 2, 3)); // next 03:00
    const r3 = await runDue(cfg, { env, clock, connect });
    assert.equal(r3.jobs.length, 3);
  });

  it('a job held by a live process exits 5 at once, without logging in', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const cfg = config([job('j1', 'a')]);
    // Our own pid holds it, as a concurrent run would.
    const lock = await acquireLock(lockPath(env, 'j1'));
    let connected = 0;
    try {
      const r = await runDue(cfg, {
        env,
        clock,
        job: 'j1',
        connect: async () => {
          connected++;
          return new LocalTransport(join(dir, 'remote'));
        },
      });
      assert.equal(r.exitCode, 5);
      assert.equal(r.jobs[0]?.outcome, 'locked');
      assert.equal(connected, 0);
    } finally {
      lock.release();
    }
  });

  it("a dead process's lock is taken over", async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const cfg = config([job('j1', 'a')]);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout);
    mkdirSync(join(lockPath(env, 'j1'), '..'), { recursive: true });
    writeFileSync(lockPath(env, 'j1'), `${deadPid}\n`);
    const r = await runDue(cfg, {
      env,
      clock,
      job: 'j1',
      connect: async () => new LocalTransport(join(dir, 'remote')),
    });
    assert.equal(r.exitCode, 0);
    assert.equal(r.jobs[0]?.files, 1);
  });

  it('an auth failure fails every job of that account with exit 4, logs no secret, other accounts go on', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const cfg = config([job('j1', 'a'), job('j2', 'a'), job('j3', 'b')]);
    const secret = 'hunter2-and-123456';
    registerSecret(secret);
    let logins = 0;
    const r = await runDue(cfg, {
      env,
      clock,
      connect: async (acct) => {
        logins++;
        if (acct.name === 'a') throw new OtpBackupError('auth', `530 login refused for PASS ${secret}`);
        return new LocalTransport(join(dir, 'remote'));
      },
    });
    assert.equal(logins, 2, 'one login attempt for account a, not one per job');
    assert.equal(r.exitCode, 4);
    assert.deepEqual(
      r.jobs.map((j) => [j.job, j.outcome]),
      [
        ['j1', 'failed'],
        ['j2', 'failed'],
        ['j3', 'ok'],
      ],
    );
    const log = readFileSync(logPath(env), 'utf8');
    assert.match(log, /job="j1" outcome=failed/);
    assert.ok(!log.includes(secret), 'secret never in the log');
    assert.equal((await readJobState(env, 'j2')).lastOutcome, 'failed');
  });

  it('an unknown --job is a usage error (exit 2)', async () => {
    const clock = new FakeClock(0);
    await assert.rejects(
      runDue(config([job('j1', 'a')]), {
        env,
        clock,
        job: 'nope',
        connect: async () => new LocalTransport(dir),
      }),
      (e: unknown) => e instanceof OtpBackupError && e.exitCode === 2 && /unknown job "nope"/.test(e.message),
    );
  });

  it('partial failures give exit 3', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const cfg = config([job('j1', 'a')]);
    const r = await runDue(cfg, {
      env,
      clock,
      connect: async () => {
        const t = new LocalTransport(join(dir, 'remote'));
        t.failPut = () => new OtpBackupError('remote', '553 not allowed');
        return t;
      },
    });
    assert.equal(r.exitCode, 3);
    assert.equal(r.jobs[0]?.outcome, 'partial');
    assert.match(readFileSync(logPath(env), 'utf8'), /failed path="j1.txt" reason="553 not allowed"/);
  });
});
