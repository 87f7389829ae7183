import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Manifest } from '../../src/scan/manifest.js';
import type { FileMeta } from '../../src/scan/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-manifest-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const meta = (n: number): FileMeta => ({ size: n, mtimeNs: `${n}000`, ctimeNs: `${n}001`, ino: String(n) });

describe('Manifest', () => {
  it('records go to the journal at once and are compacted into the snapshot', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    m.record('b', meta(2));
    // Visible in the journal before any compaction.
    assert.equal(readFileSync(Manifest.journalPath(dir), 'utf8').trim().split('\n').length, 2);
    assert.ok(!existsSync(Manifest.snapshotPath(dir)));
    m.remove('a');
    await m.compact();
    m.close();
    assert.ok(!existsSync(Manifest.journalPath(dir)));
    const snap = JSON.parse(readFileSync(Manifest.snapshotPath(dir), 'utf8'));
    assert.deepEqual(snap, { version: 1, files: { b: meta(2) } });
    const again = await Manifest.load(dir);
    assert.deepEqual(again.get('b'), meta(2));
    assert.equal(again.size, 1);
    assert.equal(again.replayed, 0);
  });

  it('a run killed mid-way loses only what was in flight (journal replay, torn last line)', async () => {
    const m0 = await Manifest.load(dir);
    m0.record('old', meta(9));
    await m0.compact();
    m0.close();
    // A child process records 50 files and is SIGKILLed without compacting or closing.
    const script = `
      import { Manifest } from ${JSON.stringify(new URL('../../src/scan/manifest.ts', import.meta.url).href)};
      const m = await Manifest.load(${JSON.stringify(dir)});
      for (let i = 0; i < 50; i++) m.record('f' + i, { size: i, mtimeNs: '1', ctimeNs: '2', ino: '3' });
      m.remove('old');
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    appendFileSync(Manifest.journalPath(dir), '{"op":"put","p":"torn'); // crash mid-write
    const m = await Manifest.load(dir);
    assert.equal(m.replayed, 51);
    assert.equal(m.size, 50);
    assert.equal(m.get('old'), undefined);
    assert.deepEqual(m.get('f49'), { size: 49, mtimeNs: '1', ctimeNs: '2', ino: '3' });
    await m.compact();
    m.close();
    const fresh = await Manifest.load(dir);
    assert.equal(fresh.size, 50);
    assert.equal(fresh.replayed, 0);
  });

  it('an invalid snapshot is a clear local error', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    await m.compact();
    m.close();
    appendFileSync(Manifest.snapshotPath(dir), 'garbage');
    await assert.rejects(Manifest.load(dir), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'local');
      assert.match(e.message, /manifest .* is not valid JSON/);
      assert.ok(e.hint);
      return true;
    });
  });
});
