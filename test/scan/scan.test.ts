import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type ManifestView, metaOf, type ScanSpec, scan } from '../../src/scan/scan.js';
import type { FileMeta } from '../../src/scan/types.js';
import { nodeWalkFs, type WalkFs } from '../../src/scan/walk.js';
import { cpuMs } from '../cpu.js';

let dir: string;
let src: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-scan-'));
  src = join(dir, 'src');
  mkdirSync(src);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(rel: string, content: string) {
  const p = join(src, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
}

class MapManifest implements ManifestView {
  m = new Map<string, FileMeta>();
  get(rel: string) {
    return this.m.get(rel);
  }
  keys() {
    return this.m.keys();
  }
}

const spec = (over: Partial<ScanSpec> = {}): ScanSpec => ({
  name: 'j',
  sources: [src],
  symlinks: 'skip',
  checksum: false,
  ...over,
});

/** Scan, then record everything as the engine would after uploading. */
async function scanAndRecord(s: ScanSpec, m: MapManifest) {
  const r = await scan(s, m);
  for (const f of [...r.added, ...r.changed, ...r.touched]) m.m.set(f.rel, f.meta);
  for (const rel of r.deleted) m.m.delete(rel);
  return r;
}

const rels = (fs: { rel: string }[]) => fs.map((f) => f.rel);

describe('scan', () => {
  it('reports added, changed, deleted and unchanged', async () => {
    write('a.txt', 'a');
    write('d/b.txt', 'b');
    write('d/e/c.txt', 'c');
    const m = new MapManifest();
    const r1 = await scanAndRecord(spec(), m);
    assert.deepEqual(rels(r1.added), ['a.txt', 'd/b.txt', 'd/e/c.txt']);
    assert.equal(r1.files, 3);
    assert.equal(r1.bytes, 3);

    const r2 = await scan(spec(), m);
    assert.deepEqual([r2.added.length, r2.changed.length, r2.deleted.length, r2.unchanged], [0, 0, 0, 3]);

    write('d/b.txt', 'b2'); // size
    utimesSync(join(src, 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1)); // mtime only
    rmSync(join(src, 'd/e/c.txt'));
    write('new.txt', 'n');
    const r3 = await scan(spec(), m);
    assert.deepEqual(rels(r3.added), ['new.txt']);
    assert.deepEqual(rels(r3.changed), ['a.txt', 'd/b.txt']);
    assert.deepEqual(r3.deleted, ['d/e/c.txt']);
    assert.equal(r3.unchanged, 0);
  });

  it('detects a replaced file with the same size and mtime through inode/ctime', async () => {
    write('a.txt', 'aaa');
    const m = new MapManifest();
    await scanAndRecord(spec(), m);
    const old = m.get('a.txt')!;
    rmSync(join(src, 'a.txt'));
    write('other', 'x'); // keep the old inode from being reused at once
    write('a.txt', 'bbb');
    const mt = new Date(Number(BigInt(old.mtimeNs) / 1_000_000n));
    utimesSync(join(src, 'a.txt'), mt, mt);
    const r = await scan(spec({ exclude: ['other'] }), m);
    assert.deepEqual(rels(r.changed), ['a.txt']);
  });

  it('applies exclude and include patterns (gitignore semantics)', async () => {
    write('a.txt', 'a');
    write('a.log', 'l');
    write('cache/x.txt', 'x');
    write('src/keep.ts', 'k');
    write('src/gen/skip.ts', 's');
    const m = new MapManifest();
    const r = await scan(spec({ exclude: ['*.log', 'cache/', 'src/gen'] }), m);
    assert.deepEqual(rels(r.added), ['a.txt', 'src/keep.ts']);
    const r2 = await scan(spec({ include: ['*.ts'], exclude: ['gen/'] }), m);
    assert.deepEqual(rels(r2.added), ['src/keep.ts']);
  });

  it('symlinks: skip reports and does not follow; follow reads the target once', async () => {
    write('real/f.txt', 'f');
    symlinkSync(join(src, 'real'), join(src, 'linkdir'));
    symlinkSync(join(src, 'real/f.txt'), join(src, 'linkfile'));
    symlinkSync(join(src, 'nowhere'), join(src, 'broken'));
    symlinkSync(src, join(src, 'real/loop')); // a cycle
    const r = await scan(spec(), new MapManifest());
    assert.deepEqual(rels(r.added), ['real/f.txt']);
    assert.deepEqual(r.problems.filter((p) => p.kind === 'symlink').length, 4);

    const f = await scan(spec({ symlinks: 'follow' }), new MapManifest());
    assert.deepEqual(rels(f.added), ['linkdir/f.txt', 'linkfile', 'real/f.txt']);
    assert.ok(f.problems.some((p) => p.kind === 'symlink' && p.path.endsWith('broken')));
    assert.ok(f.problems.some((p) => p.kind === 'loop'));
  });

  it('reports FIFOs and names with CR/LF, and never returns them', async () => {
    write('ok.txt', 'o');
    write('bad\nname.txt', 'b');
    write('bad\rdir/inner.txt', 'i');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    const r = await scan(spec(), new MapManifest());
    assert.deepEqual(rels(r.added), ['ok.txt']);
    assert.equal(r.problems.filter((p) => p.kind === 'bad-name').length, 2);
    assert.equal(r.problems.filter((p) => p.kind === 'special').length, 1);
  });

  it('a name that is not valid UTF-8 is a file like any other, its bytes kept as escapes (#14.2)', async () => {
    write('ok.txt', 'o');
    write('caf\u00e9.txt', 'valid UTF-8 stays a file'); // U+00E9 as UTF-8: fine
    write('lit\ufffd.txt', 'a real U+FFFD is valid UTF-8 too');
    writeFileSync(Buffer.concat([Buffer.from(`${src}/r`), Buffer.from([0xe9]), Buffer.from('sum.txt')]), 'l');
    mkdirSync(Buffer.concat([Buffer.from(`${src}/d`), Buffer.from([0xe9])]));
    writeFileSync(Buffer.concat([Buffer.from(`${src}/d`), Buffer.from([0xe9]), Buffer.from('/in.txt')]), 'i');
    const r = await scan(spec(), new MapManifest());
    // Before: U+FFFD, an lstat ENOENT, "vanished since listing" — never backed up, exit 0.
    assert.deepEqual(rels(r.added), [
      'caf\u00e9.txt',
      'd\udce9/in.txt',
      'lit\ufffd.txt',
      'ok.txt',
      'r\udce9sum.txt',
    ]);
    assert.deepEqual(r.problems, []);
    const f = r.added.find((x) => x.rel === 'r\udce9sum.txt');
    assert.equal(f?.meta.size, 1, 'its lstat went to the real bytes');
  });

  it('an unreadable directory or file is reported, skipped, and its manifest entries are kept', async () => {
    write('ok.txt', 'o');
    write('locked/a.txt', 'a');
    write('bad.txt', 'b');
    const m = new MapManifest();
    await scanAndRecord(spec(), m);
    // Tests run as root, where chmod 000 does not block reads: inject the failure instead.
    const eacces = (p: string) =>
      Object.assign(new Error(`EACCES: permission denied, ${p}`), { code: 'EACCES', syscall: 'opendir' });
    const fs: WalkFs = {
      ...nodeWalkFs,
      readdir: (p) => (p.endsWith('locked') ? Promise.reject(eacces(p)) : nodeWalkFs.readdir(p)),
      lstat: (p) => (p.endsWith('bad.txt') ? Promise.reject(eacces(p)) : nodeWalkFs.lstat(p)),
    };
    const r = await scan(spec(), m, { fs });
    assert.equal(r.unchanged, 1);
    assert.deepEqual(r.deleted, [], 'entries under an unreadable directory are not deleted');
    assert.deepEqual(r.problems.map((p) => [p.kind, p.path.slice(src.length + 1)]).sort(), [
      ['unreadable', 'bad.txt'],
      ['unreadable', 'locked'],
    ]);
  });

  it('a missing source deletes nothing', async () => {
    write('a.txt', 'a');
    const m = new MapManifest();
    await scanAndRecord(spec(), m);
    rmSync(src, { recursive: true });
    const r = await scan(spec(), m);
    assert.deepEqual(r.deleted, []);
    assert.equal(r.problems[0]?.kind, 'unreadable');
  });

  it('several sources each go under their base name; a file source too', async () => {
    write('x/1.txt', '1');
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', '2.txt'), '2');
    writeFileSync(join(dir, 'single.cfg'), 's');
    const r = await scan(
      spec({ sources: [join(src, 'x'), join(dir, 'other'), join(dir, 'single.cfg')] }),
      new MapManifest(),
    );
    assert.deepEqual(rels(r.added), ['other/2.txt', 'single.cfg', 'x/1.txt']);
    await assert.rejects(
      scan(spec({ sources: [join(src, 'x'), join(dir, 'x')] }), new MapManifest()),
      /share the name/,
    );
  });

  it('checksum: a touched file with the same content is not uploaded again', async () => {
    write('a.txt', 'same');
    const m = new MapManifest();
    const r1 = await scanAndRecord(spec({ checksum: true }), m);
    assert.match(r1.added[0]!.meta.sha256 ?? '', /^[0-9a-f]{64}$/);
    utimesSync(join(src, 'a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const r2 = await scanAndRecord(spec({ checksum: true }), m);
    assert.deepEqual(rels(r2.touched), ['a.txt']);
    assert.equal(r2.changed.length, 0);
    // Same size and mtime but different bytes: caught by the hash only.
    const st = m.get('a.txt')!;
    write('a.txt', 'diff');
    const mt = new Date(Number(BigInt(st.mtimeNs) / 1_000_000n));
    utimesSync(join(src, 'a.txt'), mt, mt);
    const r3 = await scan(spec({ checksum: true }), m);
    assert.deepEqual(rels(r3.changed), ['a.txt']);
  });

  it('metaOf keeps nanoseconds', async () => {
    write('a.txt', 'a');
    const st = await nodeWalkFs.lstat(join(src, 'a.txt'));
    assert.equal(metaOf(st).mtimeNs, String(st.mtimeNs));
  });

  it('walks 20,000 files quickly', async () => {
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(src, `d${d}`));
      for (let f = 0; f < 200; f++) writeFileSync(join(src, `d${d}`, `f${f}`), '');
    }
    const m = new MapManifest();
    await scanAndRecord(spec(), m);
    // CPU time, not wall time: a busy machine must not fail it (test/cpu.ts).
    const { result: r, ms } = await cpuMs(() => scan(spec(), m));
    assert.equal(r.unchanged, 20_000);
    assert.ok(ms < 5000, `no-op scan of 20k files took ${ms.toFixed(0)} ms of CPU`);
  });
});
