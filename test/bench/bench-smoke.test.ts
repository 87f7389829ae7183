// `npm run bench` at a tiny scale, one run, three cases on every server that speaks their protocol
// (ProFTPD, stock OpenSSH sshd, stock vsftpd): the harness starts the servers, every tool's files
// really land (the harness counts them on the server), and latest.json has the shape the README's
// table is made from. Skipped locally without ProFTPD, and sshd/vsftpd are left out locally where
// they cannot run; all of them are required when CI=true.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { BenchReport } from '../../bench/report.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');
const noSshd = requireTool('sshd');
const noVsftpd = requireTool('vsftpd');
const servers = ['proftpd', ...(noSshd ? [] : ['sshd']), ...(noVsftpd ? [] : ['vsftpd'])];
const ROOT = new URL('../..', import.meta.url).pathname;

test('bench harness at tiny scale: data lands, JSON and table are written', {
  skip: missing,
}, () => {
  const out = mkdtempSync(join(tmpdir(), 'otpbackup-bench-smoke-'));
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', '--case', 'big-ftp,small-sftp,nothing-due'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          BENCH_SCALE: 'tiny',
          BENCH_RUNS: '1',
          BENCH_OUT: out,
          BENCH_SERVERS: servers.join(','),
        },
        encoding: 'utf8',
        timeout: 150_000,
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
      [
        'big-ftp/proftpd',
        ...(servers.includes('vsftpd') ? ['big-ftp/vsftpd'] : []),
        'small-sftp/proftpd',
        ...(servers.includes('sshd') ? ['small-sftp/sshd'] : []),
        'nothing-due',
      ],
    );
    for (const c of report.cases) {
      assert.equal(c.error, undefined, `${c.id}: ${c.error}`);
      const ours = c.tools.find((t) => t.tool === 'otpbackup');
      assert.ok(ours?.medianMs && ours.medianMs > 0, `${c.id}: no otpbackup timing`);
      assert.ok(c.checks.length > 0, `${c.id}: no target checked`);
    }
    // Every tool that ran in a transfer case landed exactly the input on the server.
    for (const c of report.cases.filter((x) => x.id !== 'nothing-due')) {
      const id = c.id;
      assert.ok(c.input && c.input.files > 0);
      for (const t of c.tools) {
        if (t.missing) continue;
        assert.deepEqual(t.landed, c.input, `${id}/${t.tool}`);
      }
    }
    assert.deepEqual(report.cases.find((c) => c.id === 'small-sftp/proftpd')?.input, {
      files: 50,
      bytes: 50 * 4096,
    });
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    assert.match(md, /\| case \| server \| tool \| median \| peak RSS \| ratio \| target \| met\? \|/);
    assert.match(md, /50 files of 4 KiB, SFTP \| ProFTPD \| otpbackup \|/);
    // The per-server table: one column per server, the ratios of a case side by side.
    const labels = { proftpd: 'ProFTPD', sshd: 'OpenSSH sshd', vsftpd: 'vsftpd' } as const;
    const header = `| case | ${servers.map((s) => labels[s as keyof typeof labels]).join(' | ')} |`;
    assert.ok(md.includes(header), `per-server header ${header}`);
    if (servers.includes('sshd'))
      assert.match(md, /\| 50 files of 4 KiB, SFTP \| [\d.]+× rclone[^|]* \| [\d.]+× rclone[^|]* \|/);
  } catch (e) {
    process.stderr.write(readFileSync(join(out, 'latest.md'), { encoding: 'utf8', flag: 'a+' }));
    throw e;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
