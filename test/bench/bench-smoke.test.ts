// `npm run bench` at a tiny scale, one run, three cases: the harness starts ProFTPD, every tool's
// files really land (the harness counts them on the server), and latest.json has the shape the
// README's table is made from. Skipped locally without ProFTPD; a failure when CI=true.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchReport } from '../../bench/report.js';
import { proftpdUnavailable } from '../servers/proftpd.js';

const missing = proftpdUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`CI=true but ProFTPD cannot run: ${missing}`);
const ROOT = new URL('../..', import.meta.url).pathname;

test('bench harness at tiny scale: data lands, JSON and table are written', {
  skip: missing ?? false,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'otpbackup-bench-smoke-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--case', 'big-ftp,small-sftp,nothing-due'],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_SCALE: 'tiny', BENCH_RUNS: '1', BENCH_OUT: out },
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    assert.equal(r.status, 0, `bench failed:\n${r.stderr}`);
    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    assert.equal(report.scale, 'tiny');
    assert.equal(report.runs, 1);
    assert.ok(report.machine.cores > 0 && report.machine.node.startsWith('v'));
    assert.match(report.tools.otpbackup ?? '', /\d+\.\d+\.\d+/);
    assert.deepEqual(
      report.cases.map((c) => c.id),
      ['big-ftp', 'small-sftp', 'nothing-due'],
    );
    for (const c of report.cases) {
      assert.equal(c.error, undefined, `${c.id}: ${c.error}`);
      const ours = c.tools.find((t) => t.tool === 'otpbackup');
      assert.ok(ours?.medianMs && ours.medianMs > 0, `${c.id}: no otpbackup timing`);
      assert.ok(c.checks.length > 0, `${c.id}: no target checked`);
    }
    // Every tool that ran in a transfer case landed exactly the input on the server.
    for (const id of ['big-ftp', 'small-sftp']) {
      const c = report.cases.find((x) => x.id === id);
      assert.ok(c?.input && c.input.files > 0);
      for (const t of c.tools) {
        if (t.missing) continue;
        assert.deepEqual(t.landed, c.input, `${id}/${t.tool}`);
      }
    }
    assert.deepEqual(report.cases[1]?.input, { files: 50, bytes: 50 * 4096 });
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, /\| case \| tool \| median \| peak RSS \| ratio \| target \| met\? \|/);
    assert.match(md, /50 files of 4 KiB, SFTP \| otpbackup \|/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
