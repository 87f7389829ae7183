// `status` shows the last runs of each job (kept in its state file), and otpbackup.log is rotated at
// its size cap so a cron job running every few minutes for years cannot fill the disk.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { HISTORY_RUNS, readJobState } from '../../src/backup/job-state.js';
import { rotateLog } from '../../src/backup/log.js';
import { runDue } from '../../src/backup/run-due.js';
import { statusCommand } from '../../src/cli/commands/status.js';
import type { CliContext } from '../../src/cli/context.js';
import { saveJob } from '../../src/config/save.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { LocalTransport } from './local-transport.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-history-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('run history', () => {
  it('keeps the last runs per job, newest first; status prints them and --json lists them', async () => {
    const env = { HOME: dir, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config') };
    const src = join(dir, 'src');
    mkdirSync(src);
    mkdirSync(join(dir, 'remote'));
    writeFileSync(join(src, 'a.txt'), 'alpha');
    mkdirSync(join(dir, 'config', 'otpbackup'), { recursive: true });
    writeFileSync(
      join(dir, 'config', 'otpbackup', 'config.yaml'),
      'accounts:\n  a: { protocol: sftp, host: 127.0.0.1, user: u, remoteDir: /a, otp: { secret: env:S } }\njobs: {}\n',
    );
    await saveJob(env, undefined, {
      name: 'docs',
      account: 'a',
      sources: [src],
      remoteDir: 'docs',
      schedule: '0 3 * * *',
      symlinks: 'skip',
      mode: 'mirror',
      delete: true,
      checksum: false,
    });
    const { loadConfig } = await import('../../src/config/load.js');
    const config = await loadConfig(env);
    const clock = new FakeClock(Date.UTC(2026, 4, 1, 12));
    const connect = async () => new LocalTransport(join(dir, 'remote'));
    await runDue(config, { env, clock, connect, job: 'docs' });
    clock.advance(60_000);
    writeFileSync(join(src, 'b.txt'), 'bravo, longer');
    await runDue(config, { env, clock, connect, job: 'docs' });
    const st = await readJobState(env, 'docs');
    assert.deepEqual(
      st.history?.map((h) => [h.outcome, h.files]),
      [
        ['ok', 1],
        ['ok', 1],
      ],
    );
    assert.ok((st.history?.[0]?.atMs ?? 0) > (st.history?.[1]?.atMs ?? 0), 'newest first');

    let out = '';
    const ctx = {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: () => true },
      env,
      clock,
      cwd: dir,
      debug: false,
      verbose: 0,
    } as unknown as CliContext;
    await statusCommand({}, ctx);
    assert.match(out, /2026-05-01 12:01:00Z\s+ok\s+1 files\s+13 B/);
    assert.match(out, /2026-05-01 12:00:00Z\s+ok\s+1 files\s+5 B/);
    out = '';
    const j = await statusCommand({ json: true, runs: '1' }, ctx);
    assert.equal(j[0]?.runs.length, 1);
    assert.equal(JSON.parse(out).jobs[0].runs[0].bytes, 13);
    assert.ok(HISTORY_RUNS >= 10);
  });
});

describe('log rotation', () => {
  it('over the cap the log moves to .1, older ones shift, the oldest is dropped', async () => {
    const log = join(dir, 'otpbackup.log');
    for (const [f, t] of [
      [`${log}.1`, 'one'],
      [`${log}.2`, 'two'],
      [`${log}.3`, 'three'],
    ] as const)
      writeFileSync(f, t);
    writeFileSync(log, 'x'.repeat(2000));
    await rotateLog(log, 1000, 3);
    assert.equal(existsSync(log), false);
    assert.equal(statSync(`${log}.1`).size, 2000);
    assert.equal(readFileSync(`${log}.2`, 'utf8'), 'one');
    assert.equal(readFileSync(`${log}.3`, 'utf8'), 'two');
    assert.equal(existsSync(`${log}.4`), false, 'only 3 kept');
    writeFileSync(log, 'small');
    await rotateLog(log, 1000, 3);
    assert.equal(readFileSync(log, 'utf8'), 'small', 'under the cap: left alone');
  });
});
