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

  it('a snapshot of an unknown shape is moved aside, said in one line, and the job goes on (#14.8)', async () => {
    const NOW = Date.UTC(2026, 11, 1, 17, 30, 5);
    for (const [i, bad] of [
      { version: 3, files: [] },
      { version: 2, files: {} },
      { version: 2, files: [[1, 2]] },
      { version: 2, files: [['a', 1, 2, 3, 4]] },
      { version: 1, files: [] },
      { version: 1, files: { a: null } },
      null,
      [],
    ].entries()) {
      const text = JSON.stringify(bad);
      writeFileSync(Manifest.snapshotPath(dir), text);
      const m = await Manifest.load(dir, { nowMs: NOW + i * 1000 });
      const moved = `${Manifest.snapshotPath(dir)}.bad-20261201T1730${String(5 + i).padStart(2, '0')}Z`;
      assert.equal(m.size, 0, text);
      assert.equal(m.rebuild, true);
      assert.deepEqual(m.warnings, [
        `manifest ${Manifest.snapshotPath(dir)} is an unknown format: moved to ${moved}; rebuilt from the server (files of the same size and mtime there are not sent again)`,
      ]);
      assert.equal(readFileSync(moved, 'utf8'), text, 'kept for inspection');
      assert.ok(!existsSync(Manifest.snapshotPath(dir)));
      m.close();
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

  it('an invalid snapshot is moved aside; the next load is clean', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    await m.compact();
    m.close();
    appendFileSync(Manifest.snapshotPath(dir), 'garbage');
    const again = await Manifest.load(dir);
    assert.equal(again.size, 0);
    assert.equal(again.rebuild, true);
    assert.match(
      again.warnings[0] ?? '',
      /manifest .* is not valid JSON: moved to .*\.bad-\d{8}T\d{6}Z; rebuilt/,
    );
    again.record('b', meta(2));
    await again.compact();
    again.close();
    const third = await Manifest.load(dir);
    assert.deepEqual([third.warnings, third.rebuild, [...third.keys()]], [[], false, ['b']]);
    third.close();
  });

  it('a torn last journal line is dropped, said once, and the next record is not glued to it', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    m.record('b', meta(2));
    m.close();
    // A kill or a full disk cut the third line short, even inside a multi-byte character.
    const whole = readFileSync(Manifest.journalPath(dir));
    const torn = Buffer.from(`${JSON.stringify({ op: 'put', p: 'r\u00e9sum\u00e9', e: meta(3) })}\n`);
    writeFileSync(Manifest.journalPath(dir), Buffer.concat([whole, torn.subarray(0, 20)]));
    const again = await Manifest.load(dir);
    assert.deepEqual([...again.keys()].sort(), ['a', 'b'], 'read up to the last whole line');
    assert.equal(again.rebuild, false);
    assert.deepEqual(again.warnings, [
      `manifest journal ${Manifest.journalPath(dir)} ended in a line cut short (a killed run or a full disk): dropped its 20 byte(s); that file is checked again`,
    ]);
    assert.deepEqual(readFileSync(Manifest.journalPath(dir)), whole, 'the torn tail is cut off');
    again.record('c', meta(4)); // must start a line of its own
    again.close();
    const third = await Manifest.load(dir);
    assert.deepEqual([...third.keys()].sort(), ['a', 'b', 'c']);
    assert.deepEqual(third.warnings, [], 'said once');
    third.close();
  });

  it('a dry run reads a torn journal without changing it', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    m.close();
    appendFileSync(Manifest.journalPath(dir), '{"op":"del","p":"a"');
    const before = readFileSync(Manifest.journalPath(dir));
    const ro = await Manifest.load(dir, { readOnly: true });
    assert.deepEqual([...ro.keys()], ['a']);
    assert.match(ro.warnings[0] ?? '', /ended in a line cut short .*: a real run drops its 19 byte\(s\)/);
    ro.close();
    assert.deepEqual(readFileSync(Manifest.journalPath(dir)), before);
  });

  it('journal lines of the wrong JSON shape: the journal is moved aside, its good lines kept (#14.8)', async () => {
    const m = await Manifest.load(dir);
    m.record('a', meta(1));
    m.close();
    appendFileSync(
      Manifest.journalPath(dir),
      ['null', '{"op":"put","p":"x"}', '{"op":"put","p":"y","e":{"size":"1"}}', '[1,2]', '7', '{"p":"z"}', '']
        .join('\n')
        .concat(`${JSON.stringify({ op: 'put', p: 'b', e: meta(2) })}\n`),
    );
    const again = await Manifest.load(dir);
    assert.deepEqual([...again.keys()].sort(), ['a', 'b']);
    assert.equal(again.rebuild, false, 'the snapshot was fine');
    assert.equal(again.warnings.length, 1);
    assert.match(
      again.warnings[0] ?? '',
      /journal .* has 6 line\(s\) of an unknown shape: moved to .*\.bad-.*; its other 2 line\(s\) are kept/,
    );
    assert.ok(!existsSync(Manifest.journalPath(dir)));
    await again.compact();
    again.close();
    const third = await Manifest.load(dir);
    assert.deepEqual([...third.keys()].sort(), ['a', 'b'], 'the good lines reached the snapshot');
    third.close();
  });
});
