// `mode: versions` with retention decides pruning from local state (#13.5): a run where nothing
// changed and nothing is old enough logs in not at all; a run where a version has aged past
// `days` logs in and prunes without any file change. Driven through runDue with a local transport
// and a fake clock, counting logins; the CLI test against ProFTPD is in test/cli/versions-login.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { runDue } from '../../src/backup/run-due.js';
import { jobStateDir } from '../../src/config/paths.js';
import type { Account, Config, Job } from '../../src/config/types.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { LocalTransport } from './local-transport.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-verslogin-'));
  env = { HOME: dir, XDG_STATE_HOME: join(dir, 'state') };
  mkdirSync(join(dir, 'remote'));
  mkdirSync(join(dir, 'src'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;

function setup(retention: Job['retention']) {
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
  const job: Job = {
    name: 'v',
    account: 'a',
    sources: [join(dir, 'src')],
    remoteDir: 'v',
    schedule: '* * * * *',
    symlinks: 'skip',
    mode: 'versions',
    delete: true,
    checksum: false,
    ...(retention ? { retention } : {}),
  };
  const config: Config = { path: join(dir, 'config.yaml'), accounts: { a: account }, jobs: { v: job } };
  let logins = 0;
  const connect = async () => {
    logins++;
    return new LocalTransport(join(dir, 'remote'));
  };
  return { config, connect, logins: () => logins };
}

const versions = () => {
  try {
    return readdirSync(join(dir, 'remote/a/v/.versions')).sort();
  } catch {
    return [];
  }
};

describe('versions retention without a login per run', () => {
  it('unchanged runs log in 0 times; an aged version is pruned by a run with no change', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
    const { config, connect, logins } = setup({ days: 7 });
    const run = async () => {
      clock.advance(60_000);
      const r = await runDue(config, { env, clock, connect, job: 'v' });
      assert.equal(r.exitCode, 0, JSON.stringify(r.jobs));
      return r.jobs[0]!;
    };
    writeFileSync(join(dir, 'src/f.txt'), 'v1');
    await run(); // first upload
    assert.equal(logins(), 1);
    writeFileSync(join(dir, 'src/f.txt'), 'v2-changed');
    await run(); // v1 goes to .versions
    assert.equal(logins(), 2);
    assert.equal(versions().length, 1);

    for (let i = 0; i < 3; i++) await run();
    assert.equal(logins(), 2, 'nothing changed and nothing is 7 days old: no login');

    clock.advance(8 * DAY);
    const pruned = await run();
    assert.equal(logins(), 3, 'the version aged past 7 days: one login to prune it');
    assert.equal(pruned.pruned, 1);
    assert.deepEqual(versions(), []);
    await run();
    assert.equal(logins(), 3, 'pruned: no login again');
  });

  it('keep N: a version over the count is pruned in the run that made it; unknown state walks once', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 12));
    const { config, connect, logins } = setup({ keep: 1 });
    const run = async () => {
      clock.advance(60_000);
      return (await runDue(config, { env, clock, connect, job: 'v' })).jobs[0]!;
    };
    writeFileSync(join(dir, 'src/f.txt'), 'v1');
    await run();
    writeFileSync(join(dir, 'src/f.txt'), 'v2-');
    await run();
    writeFileSync(join(dir, 'src/f.txt'), 'v3--');
    const r = await run();
    assert.equal(r.pruned, 1);
    assert.equal(versions().length, 1);
    assert.equal(logins(), 3);
    await run();
    assert.equal(logins(), 3);
    // The local list is lost (a new machine, a wiped state dir): one walk rebuilds it.
    rmSync(join(jobStateDir(env, 'v'), 'versions.json'));
    await run();
    assert.equal(logins(), 4, 'unknown: one login to look');
    await run();
    assert.equal(logins(), 4);
  });
});
