// runDue scans before it logs in: a run with nothing to send, delete or prune makes no login (no
// handshake, no one-time code spent); anything to do still logs in once per account. And each
// finished run stores the job's next scheduled time for the fast "is anything due?" check.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { dueFromState, readJobState } from '../../src/backup/job-state.js';
import { runDue } from '../../src/backup/run-due.js';
import type { Account, Config, Job } from '../../src/config/types.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { isDue } from '../../src/schedule/due.js';
import { LocalTransport } from '../backup/local-transport.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-noop-'));
  env = { HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
  mkdirSync(join(dir, 'remote'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const account: Account = {
  name: 'a',
  protocol: 'sftp',
  host: '127.0.0.1',
  port: 22,
  user: 'u',
  remoteDir: '/a',
  template: '${TOTP}',
  otp: { type: 'totp', algorithm: 'sha1', digits: 6, period: 30, t0: 0, reuse: 'forbid', marginSeconds: 3 },
  trust: {},
};

function job(name: string, extra: Partial<Job> = {}): Job {
  const src = join(dir, 'src', name);
  mkdirSync(src, { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(join(src, `f${i}.txt`), `${name}${i}`);
  return {
    name,
    account: 'a',
    sources: [src],
    remoteDir: name,
    schedule: '0 3 * * *',
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
    ...extra,
  };
}

const config = (jobs: Job[]): Config => ({
  path: join(dir, 'config.yaml'),
  accounts: { a: account },
  jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
});

function harness() {
  let logins = 0;
  const connect = async () => {
    logins++;
    return Object.assign(new LocalTransport(join(dir, 'remote')), { loginStep: 7 });
  };
  return { connect, logins: () => logins };
}

describe('runDue: no login when nothing changed', () => {
  it('a no-op run logs in nowhere and still records the run; a change logs in again', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const j1 = job('j1');
    const j2 = job('j2');
    const cfg = config([j1, j2]);
    const h = harness();
    let r = await runDue(cfg, { env, clock, connect: h.connect });
    assert.equal(r.exitCode, 0);
    assert.equal(h.logins(), 1, 'first run: one login for the account');

    clock.advance(60_000);
    r = await runDue(cfg, { env, clock, connect: h.connect, job: 'j1' });
    assert.equal(r.exitCode, 0);
    assert.equal(h.logins(), 1, 'nothing changed: no login');
    assert.deepEqual(
      r.jobs.map((j) => [j.job, j.outcome, j.files, j.unchanged, j.loginStep]),
      [['j1', 'ok', 0, 3, undefined]],
    );
    assert.equal((await readJobState(env, 'j1')).lastRunMs, clock.now(), 'the run is recorded');

    clock.advance(60_000);
    writeFileSync(join(j1.sources[0]!, 'f0.txt'), 'changed!');
    r = await runDue(cfg, { env, clock, connect: h.connect, job: 'j1' });
    assert.equal(h.logins(), 2, 'a changed file: login');
    assert.deepEqual(
      r.jobs.map((j) => [j.job, j.outcome, j.files, j.loginStep]),
      [['j1', 'ok', 1, 7]],
    );

    clock.advance(60_000);
    unlinkSync(join(j1.sources[0]!, 'f1.txt'));
    r = await runDue(cfg, { env, clock, connect: h.connect, job: 'j1' });
    assert.equal(h.logins(), 3, 'a deleted file: login');
    assert.equal(r.jobs[0]?.deleted, 1);
  });

  it('logs in when one job of the account has work, even if the other has none', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const j1 = job('j1');
    const j2 = job('j2');
    const h = harness();
    await runDue(config([j1, j2]), { env, clock, connect: h.connect });
    writeFileSync(join(j2.sources[0]!, 'new.txt'), 'new');
    clock.set(Date.UTC(2026, 4, 2, 4));
    const r = await runDue(config([j1, j2]), { env, clock, connect: h.connect });
    assert.equal(h.logins(), 2);
    assert.deepEqual(
      r.jobs.map((j) => [j.job, j.files]),
      [
        ['j1', 0],
        ['j2', 1],
      ],
    );
  });

  it('logs in for a first run of an empty source; versions with retention only when pruning is due', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const empty = job('empty');
    for (let i = 0; i < 3; i++) unlinkSync(join(empty.sources[0]!, `f${i}.txt`));
    const h = harness();
    await runDue(config([empty]), { env, clock, connect: h.connect });
    assert.equal(h.logins(), 1, 'empty manifest: the remote directory is created');

    const v = job('v', { mode: 'versions', retention: { days: 30 } });
    await runDue(config([v]), { env, clock, connect: h.connect, job: 'v' });
    clock.advance(60_000);
    await runDue(config([v]), { env, clock, connect: h.connect, job: 'v' });
    // The local list of kept versions says nothing is due (#13.5): no login (the first run walked).
    assert.equal(h.logins(), 2, 'retention decides from local state: no login when nothing is due');
  });

  it('a job whose scan fails is reported as before, without a login', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const ok = job('ok');
    const h = harness();
    await runDue(config([ok]), { env, clock, connect: h.connect });
    const clash = job('clash');
    mkdirSync(join(dir, 'x', 'docs'), { recursive: true });
    mkdirSync(join(dir, 'y', 'docs'), { recursive: true });
    clash.sources = [join(dir, 'x', 'docs'), join(dir, 'y', 'docs')];
    clock.set(Date.UTC(2026, 4, 2, 4));
    const r = await runDue(config([ok, clash]), { env, clock, connect: h.connect });
    assert.equal(h.logins(), 1);
    assert.equal(r.exitCode, 2);
    const failed = r.jobs.find((j) => j.job === 'clash');
    assert.equal(failed?.outcome, 'failed');
    assert.match(failed?.error?.message ?? '', /share the name "docs"/);
  });

  it('stores the next scheduled time, which answers "due?" like the cron parser', async () => {
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const j = job('j1', { schedule: '30 2 * * *', timezone: 'Europe/Berlin' });
    const h = harness();
    await runDue(config([j]), { env, clock, connect: h.connect });
    const st = await readJobState(env, 'j1');
    assert.deepEqual(st.next, {
      afterMs: clock.now(),
      schedule: '30 2 * * *',
      timezone: 'Europe/Berlin',
      atMs: Date.UTC(2026, 4, 2, 0, 30),
    });
    for (const at of [Date.UTC(2026, 4, 1, 13), Date.UTC(2026, 4, 2, 0, 29), Date.UTC(2026, 4, 2, 0, 30)]) {
      assert.equal(dueFromState(j, st, at), isDue(j.schedule, st.lastRunMs, at, j.timezone), String(at));
    }
    // Computed for another schedule, time zone or last run: the parser must decide.
    assert.equal(dueFromState({ ...j, schedule: '* * * * *' }, st, clock.now() + 1), undefined);
    assert.equal(dueFromState({ ...j, timezone: 'UTC' }, st, clock.now() + 1), undefined);
    assert.equal(dueFromState(j, { ...st, lastRunMs: 5 }, clock.now()), undefined);
    assert.equal(dueFromState(j, {}, 0), true, 'never ran: due');
  });
});
