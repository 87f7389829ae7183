import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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
    assert.deepEqual(snap, { version: 2, files: [['b', 2, '2000', '2001', '2']] });
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

  it('keeps the SHA-256 in the snapshot and reads a version 1 snapshot', async () => {
    const m = await Manifest.load(dir);
    m.record('h', { ...meta(3), sha256: 'ab'.repeat(32) });
    await m.compact();
    m.close();
    const snap = JSON.parse(readFileSync(Manifest.snapshotPath(dir), 'utf8'));
    assert.deepEqual(snap.files, [['h', 3, '3000', '3001', '3', 'ab'.repeat(32)]]);
    assert.deepEqual((await Manifest.load(dir)).get('h'), { ...meta(3), sha256: 'ab'.repeat(32) });
    // Written by otpbackup before the array format: still read, and rewritten as version 2.
    writeFileSync(
      Manifest.snapshotPath(dir),
      JSON.stringify({ version: 1, files: { a: meta(1), b: meta(2) } }),
    );
    const old = await Manifest.load(dir);
    assert.equal(old.size, 2);
    assert.deepEqual(old.get('b'), meta(2));
    old.remove('a');
    await old.compact();
    old.close();
    assert.equal(JSON.parse(readFileSync(Manifest.snapshotPath(dir), 'utf8')).version, 2);
  });

  it('a snapshot of an unknown shape is a clear local error', async () => {
    for (const bad of [
      { version: 3, files: [] },
      { version: 2, files: {} },
      { version: 2, files: [[1, 2]] },
      { version: 1, files: [] },
    ]) {
      writeFileSync(Manifest.snapshotPath(dir), JSON.stringify(bad));
      await assert.rejects(Manifest.load(dir), /unknown format/, JSON.stringify(bad));
    }
  });

  it('compacting with nothing recorded leaves the snapshot alone', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    await m.compact();
    m.close();
    const before = statSync(Manifest.snapshotPath(dir));
    const again = await Manifest.load(dir);
    await again.compact();
    again.close();
    const after = statSync(Manifest.snapshotPath(dir));
    assert.equal(after.ino, before.ino, 'not replaced');
    assert.equal(after.mtimeMs, before.mtimeMs);
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
