import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { jobRemoteRoot, remoteInside, runJob } from '../../src/backup/engine.js';
import { versionStamp } from '../../src/backup/versions.js';
import type { Job } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { Manifest } from '../../src/scan/manifest.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { LocalTransport } from './local-transport.js';

let dir: string;
let src: string;
let remote: string;
let state: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-engine-'));
  src = join(dir, 'src');
  remote = join(dir, 'remote');
  state = join(dir, 'state');
  mkdirSync(src);
  mkdirSync(remote);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function job(over: Partial<Job> = {}): Job {
  return {
    name: 'home',
    account: 'acct',
    sources: [src],
    remoteDir: 'backup',
    schedule: '@daily',
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
    ...over,
  };
}

function write(rel: string, content: string) {
  const p = join(src, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
}

const clock = new FakeClock(Date.UTC(2026, 10, 23, 10, 15, 0));

async function run(j: Job, t: LocalTransport, opts: { force?: boolean; dryRun?: boolean } = {}) {
  const manifest = await Manifest.load(state);
  try {
    return await runJob(j, { transport: t, manifest, clock, remoteRoot: '/backup', ...opts });
  } finally {
    manifest.close();
  }
}

describe('runJob', () => {
  it('first run uploads every file, second run nothing', async () => {
    write('a.txt', 'aaa');
    write('sub/b.txt', 'bb');
    write('sub/deep/c.txt', 'c');
    const t = new LocalTransport(remote);
    const r1 = await run(job(), t);
    assert.equal(r1.outcome, 'ok');
    assert.equal(r1.files, 3);
    assert.equal(r1.bytes, 6);
    assert.deepEqual(t.puts.sort(), ['/backup/a.txt', '/backup/sub/b.txt', '/backup/sub/deep/c.txt']);
    assert.equal(readFileSync(join(remote, 'backup/sub/deep/c.txt'), 'utf8'), 'c');

    const t2 = new LocalTransport(remote);
    const r2 = await run(job(), t2);
    assert.equal(r2.files, 0);
    assert.equal(r2.unchanged, 3);
    assert.deepEqual(t2.puts, []);
    assert.ok(!existsSync(Manifest.journalPath(state)), 'journal compacted away');
  });

  it('add, modify, delete: exactly those', async () => {
    write('keep.txt', 'k');
    write('mod.txt', 'v1');
    write('del.txt', 'd');
    write('other.txt', 'o');
    await run(job(), new LocalTransport(remote));
    write('new.txt', 'n');
    write('mod.txt', 'version 2');
    rmSync(join(src, 'del.txt'));
    const t = new LocalTransport(remote);
    const r = await run(job(), t);
    assert.equal(r.outcome, 'ok');
    assert.deepEqual(t.puts.sort(), ['/backup/mod.txt', '/backup/new.txt']);
    assert.deepEqual(t.removes, ['/backup/del.txt']);
    assert.equal(r.deleted, 1);
    assert.equal(readFileSync(join(remote, 'backup/mod.txt'), 'utf8'), 'version 2');
    assert.ok(!existsSync(join(remote, 'backup/del.txt')));
  });

  it('delete: false keeps remote copies of deleted files', async () => {
    write('a.txt', 'a');
    write('b.txt', 'b');
    write('c.txt', 'c');
    await run(job({ delete: false }), new LocalTransport(remote));
    rmSync(join(src, 'a.txt'));
    const t = new LocalTransport(remote);
    const r = await run(job({ delete: false }), t);
    assert.equal(r.deleted, 0);
    assert.deepEqual(t.removes, []);
    assert.ok(existsSync(join(remote, 'backup/a.txt')));
  });

  it('excludes', async () => {
    write('a.txt', 'a');
    write('a.log', 'l');
    write('node_modules/x/index.js', 'x');
    write('docs/readme.md', 'r');
    const t = new LocalTransport(remote);
    await run(job({ exclude: ['*.log', 'node_modules/'] }), t);
    assert.deepEqual(t.puts.sort(), ['/backup/a.txt', '/backup/docs/readme.md']);
  });

  it('mirror refuses to delete more than half of the files unless forced', async () => {
    for (const n of ['a', 'b', 'c', 'd']) write(`${n}.txt`, n);
    await run(job(), new LocalTransport(remote));
    for (const n of ['a', 'b', 'c']) rmSync(join(src, `${n}.txt`));
    const t = new LocalTransport(remote);
    const r = await run(job(), t);
    assert.equal(r.outcome, 'partial');
    assert.deepEqual(t.removes, []);
    assert.match(r.failed[0]?.reason ?? '', /refusing to delete 3 of 4/);
    assert.ok(existsSync(join(remote, 'backup/a.txt')));

    const t2 = new LocalTransport(remote);
    const r2 = await run(job(), t2, { force: true });
    assert.equal(r2.outcome, 'ok');
    assert.equal(r2.deleted, 3);
    assert.ok(!existsSync(join(remote, 'backup/a.txt')));
  });

  it('versions mode moves the previous copy aside and prunes by keep', async () => {
    const j = job({ mode: 'versions', retention: { keep: 2 } });
    write('f.txt', 'v1');
    clock.set(Date.UTC(2026, 10, 23, 10, 0, 0));
    await run(j, new LocalTransport(remote));
    const stamps: string[] = [];
    for (const [i, v] of ['v2', 'v3', 'v4'].entries()) {
      write('f.txt', v);
      clock.set(Date.UTC(2026, 10, 23, 11 + i, 0, 0));
      stamps.push(versionStamp(clock.now()));
      const r = await run(j, new LocalTransport(remote));
      assert.equal(r.outcome, 'ok');
    }
    assert.equal(readFileSync(join(remote, 'backup/f.txt'), 'utf8'), 'v4');
    const vers = readdirSync(join(remote, 'backup/.versions')).sort();
    // Three old copies were made (v1, v2, v3); keep 2 leaves the newest two.
    assert.deepEqual(vers, [`f.txt.${stamps[1]}`, `f.txt.${stamps[2]}`]);
    assert.equal(readFileSync(join(remote, 'backup/.versions', `f.txt.${stamps[2]}`), 'utf8'), 'v3');
    assert.equal(stamps[0], '20261123T110000Z');
  });

  it('versions mode: a deleted file goes to .versions; days retention prunes old ones', async () => {
    const j = job({ mode: 'versions', retention: { days: 7 } });
    write('a.txt', 'a');
    write('b.txt', 'b');
    write('c.txt', 'c');
    clock.set(Date.UTC(2026, 0, 1));
    await run(j, new LocalTransport(remote));
    rmSync(join(src, 'a.txt'));
    const r = await run(j, new LocalTransport(remote));
    assert.equal(r.deleted, 1);
    assert.deepEqual(readdirSync(join(remote, 'backup/.versions')), ['a.txt.20260101T000000Z']);
    clock.set(Date.UTC(2026, 0, 9));
    const r2 = await run(j, new LocalTransport(remote));
    assert.equal(r2.pruned, 1);
    assert.deepEqual(readdirSync(join(remote, 'backup/.versions')), []);
  });

  it('versions mode: two changes within one second keep both old copies', async () => {
    const j = job({ mode: 'versions' });
    clock.set(Date.UTC(2026, 10, 23, 12, 0, 0));
    for (const v of ['v1', 'v2', 'v3']) {
      write('f.txt', `${v}-xx`); // the clock stands still: each run is in the same second
      const r = await run(j, new LocalTransport(remote));
      assert.equal(r.outcome, 'ok');
    }
    const vers = readdirSync(join(remote, 'backup/.versions')).sort();
    assert.deepEqual(vers, ['f.txt.20261123T120000Z', 'f.txt.20261123T120001Z']);
    assert.equal(readFileSync(join(remote, 'backup/.versions/f.txt.20261123T120000Z'), 'utf8'), 'v1-xx');
    assert.equal(readFileSync(join(remote, 'backup/.versions/f.txt.20261123T120001Z'), 'utf8'), 'v2-xx');
  });

  it('versions mode: a source path under .versions is refused, not mixed with old copies', async () => {
    const j = job({ mode: 'versions' });
    write('.versions/notes.txt', 'mine');
    write('ok.txt', 'fine');
    const r = await run(j, new LocalTransport(remote));
    assert.equal(r.outcome, 'partial');
    assert.deepEqual(
      r.failed.map((f) => f.path),
      ['.versions/notes.txt'],
    );
    assert.match(r.failed[0]!.reason, /collides with the directory of old versions.*--exclude/);
    assert.equal(readFileSync(join(remote, 'backup/ok.txt'), 'utf8'), 'fine');
    assert.equal(existsSync(join(remote, 'backup/.versions/notes.txt')), false);
  });

  it('a file rewritten to the same size during upload keeps the old remote copy (checked before the commit)', async () => {
    write('db.bin', 'AAAAAAAA');
    const t = new LocalTransport(remote);
    assert.equal((await run(job(), t)).outcome, 'ok');
    write('db.bin', 'BBBBBBBB');
    const t2 = new LocalTransport(remote);
    t2.duringPut = (local) => writeFileSync(local, 'CCCCCCCC'); // same size, new mtime/ctime
    const r = await run(job(), t2);
    assert.equal(r.outcome, 'partial');
    assert.match(r.failed[0]!.reason, /changed while being uploaded; the old remote copy is kept/);
    assert.equal(readFileSync(join(remote, 'backup/db.bin'), 'utf8'), 'AAAAAAAA');
    assert.deepEqual(readdirSync(join(remote, 'backup')), ['db.bin'], 'temp file dropped');
    const r2 = await run(job(), new LocalTransport(remote));
    assert.equal(r2.files, 1);
    assert.equal(readFileSync(join(remote, 'backup/db.bin'), 'utf8'), 'CCCCCCCC');
  });

  it('a transport that skips beforeCommit: the engine still checks after the upload', async () => {
    write('db.bin', 'AAAAAAAA');
    const t = new LocalTransport(remote);
    t.callBeforeCommit = false;
    t.duringPut = (local) => writeFileSync(local, 'CCCCCCCC');
    const r = await run(job(), t);
    assert.equal(r.outcome, 'partial');
    assert.match(r.failed[0]!.reason, /changed while being uploaded; it will be sent again/);
    const m = await Manifest.load(state);
    assert.equal(m.get('db.bin'), undefined);
    m.close();
  });

  it('copyFirst: a file rewritten during its upload still lands whole (the copy), and is sent again next run', async () => {
    write('mbox', 'AAAAAAAA');
    const t = new LocalTransport(remote);
    let sent = '';
    t.duringPut = (local) => {
      sent = local;
      writeFileSync(join(src, 'mbox'), 'BBBBBBBB'); // the source changes; the copy does not
    };
    const r = await run(job({ copyFirst: true }), t);
    assert.deepEqual(r.failed, []);
    assert.equal(r.files, 1);
    assert.notEqual(sent, join(src, 'mbox'), 'the upload read a copy, not the source');
    assert.equal(existsSync(sent), false, 'the copy is removed');
    assert.equal(existsSync(join(sent, '..')), false, 'and its private directory');
    assert.equal(readFileSync(join(remote, 'backup/mbox'), 'utf8'), 'AAAAAAAA');
    const r2 = await run(job({ copyFirst: true }), new LocalTransport(remote));
    assert.equal(r2.files, 1, 'recorded with the metadata of the copied version: the change is sent');
    assert.equal(readFileSync(join(remote, 'backup/mbox'), 'utf8'), 'BBBBBBBB');
  });

  it('symlinks: follow uploads the linked file, checked by its own size (#14.4)', async () => {
    write('real/data.txt', 'x'.repeat(2301));
    symlinkSync(join(src, 'real/data.txt'), join(src, 'link.txt'));
    const t = new LocalTransport(remote);
    const r = await run(job({ symlinks: 'follow' }), t);
    assert.deepEqual(r.failed, []);
    assert.equal(r.outcome, 'ok');
    assert.equal(readFileSync(join(remote, 'backup/link.txt'), 'utf8'), 'x'.repeat(2301));
    const r2 = await run(job({ symlinks: 'follow' }), new LocalTransport(remote));
    assert.equal(r2.files, 0, "recorded with the target's metadata: nothing to send again");
  });

  it('a file that changes during upload is not recorded and is sent again next run', async () => {
    write('log.txt', 'start');
    write('quiet.txt', 'q');
    const t = new LocalTransport(remote);
    t.duringPut = (local) => {
      if (local.endsWith('log.txt')) appendFileSync(local, ' more');
    };
    const r = await run(job(), t);
    assert.equal(r.outcome, 'partial');
    assert.deepEqual(
      r.failed.map((f) => f.path),
      ['log.txt'],
    );
    assert.match(r.failed[0]!.reason, /changed while being uploaded/);
    const m = await Manifest.load(state);
    assert.equal(m.get('log.txt'), undefined);
    assert.ok(m.get('quiet.txt'));
    m.close();
    const t2 = new LocalTransport(remote);
    const r2 = await run(job(), t2);
    assert.equal(r2.outcome, 'ok');
    assert.deepEqual(t2.puts, ['/backup/log.txt']);
  });

  it('respects transport.concurrency', async () => {
    for (let i = 0; i < 12; i++) write(`f${i}.txt`, String(i));
    const t = new LocalTransport(remote, 3);
    t.putDelayMs = 10;
    const r = await run(job(), t);
    assert.equal(r.files, 12);
    assert.equal(t.maxInFlight, 3);
    const t1 = new LocalTransport(join(dir, 'remote'), 1);
    write('g.txt', 'g');
    write('h.txt', 'h');
    await run(job(), t1);
    assert.equal(t1.maxInFlight, 1);
  });

  it('a per-file remote error is a failure; others still go; a fatal error stops the job', async () => {
    write('a.txt', 'a');
    write('b.txt', 'b');
    write('c.txt', 'c');
    const t = new LocalTransport(remote);
    t.failPut = (p) =>
      p.endsWith('b.txt') ? new OtpBackupError('remote', '553 permission denied') : undefined;
    const r = await run(job(), t);
    assert.equal(r.outcome, 'partial');
    assert.deepEqual(r.failed, [{ path: 'b.txt', reason: '553 permission denied' }]);
    assert.equal(r.files, 2);

    write('d.txt', 'd');
    const t2 = new LocalTransport(remote);
    t2.failPut = () => new OtpBackupError('network', 'connection reset');
    const r2 = await run(job(), t2);
    assert.equal(r2.outcome, 'failed');
    assert.equal(r2.error?.code, 'network');
    assert.equal(t2.puts.length, 0);
  });

  it('--dry-run changes nothing and lists the plan', async () => {
    write('a.txt', 'a');
    const t = new LocalTransport(remote);
    const m = await Manifest.load(state);
    const r = await runJob(job(), { manifest: m, clock, remoteRoot: '/backup', dryRun: true });
    m.close();
    assert.equal(r.outcome, 'dry-run');
    assert.deepEqual(r.plan, { upload: ['a.txt'], delete: [] });
    assert.deepEqual(t.puts, []);
    assert.ok(!existsSync(Manifest.snapshotPath(state)));
  });

  it('--force uploads everything again', async () => {
    write('a.txt', 'a');
    write('b.txt', 'b');
    await run(job(), new LocalTransport(remote));
    const t = new LocalTransport(remote);
    const r = await run(job(), t, { force: true });
    assert.equal(r.files, 2);
  });
});

it('remoteInside: a manifest entry can never point outside the job root', () => {
  assert.equal(remoteInside('/backup/job', 'a/b.txt'), '/backup/job/a/b.txt');
  assert.equal(remoteInside('/', 'x'), '/x');
  for (const bad of ['../x', '../../etc/passwd', 'a/../../x', '..', 'a/..']) {
    assert.throws(() => remoteInside('/backup/job', bad), /points outside \/backup\/job/, bad);
  }
});

it('remoteInside: the login directory (a relative root) holds the files (#13.1)', () => {
  // `--to ftp://u@h/` and accounts without remoteDir give the root "."; every path was refused.
  assert.equal(remoteInside('.', 'a.txt'), 'a.txt');
  assert.equal(remoteInside('.', 'sub/b.txt'), 'sub/b.txt');
  assert.equal(remoteInside('site', 'a.txt'), 'site/a.txt');
  assert.equal(remoteInside('~', 'a.txt'), '~/a.txt');
  assert.equal(remoteInside('~/site', 'a.txt'), '~/site/a.txt');
  for (const root of ['.', '~', 'site', '/'])
    for (const bad of ['../x', 'a/../../x', '..', '/etc/passwd', '', '.'])
      assert.throws(() => remoteInside(root, bad), /points outside/, `${root} + ${bad}`);
});

it('jobRemoteRoot: relative job paths go below the account, absolute and ~ ones stand alone', () => {
  assert.equal(jobRemoteRoot('.', '.'), '.');
  assert.equal(jobRemoteRoot('.', 'docs'), 'docs');
  assert.equal(jobRemoteRoot('backups', 'docs'), 'backups/docs');
  assert.equal(jobRemoteRoot('/srv', 'docs'), '/srv/docs');
  assert.equal(jobRemoteRoot('/srv', '/other'), '/other');
  assert.equal(jobRemoteRoot('/srv', '~/docs'), '~/docs');
  assert.equal(jobRemoteRoot('~/b', 'docs'), '~/b/docs');
  assert.equal(jobRemoteRoot('~', '.'), '~');
});

it('runJob into the login directory (remote root ".") uploads every file (#13.1)', async () => {
  write('a.txt', 'aaa');
  write('sub/b.txt', 'bb');
  const t = new LocalTransport(remote);
  const manifest = await Manifest.load(state);
  try {
    const r = await runJob(job({ remoteDir: '.' }), { transport: t, manifest, clock, remoteRoot: '.' });
    assert.equal(r.outcome, 'ok', JSON.stringify(r));
    assert.equal(r.files, 2);
    assert.deepEqual(t.puts.sort(), ['a.txt', 'sub/b.txt']);
    assert.equal(readFileSync(join(remote, 'sub/b.txt'), 'utf8'), 'bb');
  } finally {
    manifest.close();
  }
});
