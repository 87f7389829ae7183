// The temp journal (issue #14 item 7) and how runJob uses it: names recorded before the upload, a
// killed run's names removed by the next run that logs in (any directory), nothing else touched.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { runJob } from '../../src/backup/engine.js';
import { TempJournal } from '../../src/backup/temp-journal.js';
import type { Job } from '../../src/config/types.js';
import { Manifest } from '../../src/scan/manifest.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { newTempTag, parseTempName, tempPathFor } from '../../src/transport/temp.js';
import type { PutOptions } from '../../src/transport/types.js';
import { LocalTransport } from './local-transport.js';

let dir: string;
let state: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-tempj-'));
  state = join(dir, 'state');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const clock = new FakeClock(Date.UTC(2026, 11, 1, 12, 0, 0));
const now = () => clock.now();

describe('TempJournal', () => {
  it('keeps one random tag per job and names temps with it', async () => {
    const j = await TempJournal.open(state, { now });
    assert.match(j.tag, /^[0-9a-f]{12}$/);
    const tmp = j.next('/r/d/file.txt');
    assert.match(tmp, /^\/r\/d\/\.file\.txt\.otpbackup-tmp-[0-9a-f]{12}-[0-9a-z]+-[0-9a-f]{8}$/);
    assert.deepEqual(parseTempName(tmp.slice(5)), { tag: j.tag, createdAt: clock.now() });
    await j.finish();
    const again = await TempJournal.open(state, { now });
    assert.equal(again.tag, j.tag, 'the tag survives runs');
    assert.notEqual(
      (await TempJournal.open(join(dir, 'other'), { now })).tag,
      j.tag,
      'another job, another tag',
    );
  });

  it('a name is on disk before it is handed out; a killed run leaves it pending', async () => {
    const j = await TempJournal.open(state, { now });
    const a = j.next('/r/a');
    const b = j.next('/r/b');
    assert.ok(readFileSync(TempJournal.path(state), 'utf8').includes(JSON.stringify(b)), 'written at once');
    j.gone(a);
    // No finish(): the process was killed. The "d" of a may or may not have reached the file.
    const after = await TempJournal.open(state, { now });
    assert.ok(after.pendingPaths().includes(b));
    after.settle(after.pendingPaths());
    await after.finish();
    assert.deepEqual((await TempJournal.open(state, { now })).pendingPaths(), []);
  });

  it('unreadable lines are skipped, not fatal', async () => {
    const tag = newTempTag();
    mkdirSync(state, { recursive: true });
    const p = tempPathFor('/r/x', 1, tag);
    writeFileSync(
      TempJournal.path(state),
      [
        JSON.stringify({ tag }),
        'null',
        '{"t":5}',
        '{"t":',
        '[1,2]',
        JSON.stringify({ t: p }),
        '{"d":null}',
        '',
      ].join('\n'),
    );
    const j = await TempJournal.open(state, { now });
    assert.equal(j.tag, tag);
    assert.deepEqual(j.pendingPaths(), [p]);
  });

  it('a run with nothing to record does not rewrite the file', async () => {
    await (await TempJournal.open(state, { now })).finish();
    const before = readFileSync(TempJournal.path(state), 'utf8');
    writeFileSync(TempJournal.path(state), `${before}{"t":`); // a torn tail, left as is
    await (await TempJournal.open(state, { now })).finish();
    assert.equal(readFileSync(TempJournal.path(state), 'utf8'), `${before}{"t":`);
    // The next name recorded after a torn tail starts a line of its own (else it would be lost).
    const j = await TempJournal.open(state, { now });
    const tmp = j.next('/r/after-a-kill');
    assert.deepEqual((await TempJournal.open(state, { now })).pendingPaths(), [tmp]);
    await j.finish();
  });
});

/** A LocalTransport whose put() takes its temp names from PutOptions.temps like the real ones. */
class NamingTransport extends LocalTransport {
  killAt?: string;
  override async put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void> {
    const tmp = opts?.temps?.next(remotePath);
    if (tmp && remotePath === this.killAt) {
      writeFileSync(join(this.root, tmp), 'partial'); // the process "dies" here
      throw new Error('killed');
    }
    await super.put(localPath, remotePath, opts);
    if (tmp) opts?.temps?.gone(tmp);
  }
}

function job(src: string): Job {
  return {
    name: 'j',
    account: 'a',
    sources: [src],
    remoteDir: 'backup',
    schedule: '@daily',
    symlinks: 'skip',
    mode: 'mirror',
    delete: true,
    checksum: false,
  };
}

describe('runJob and the temp journal', () => {
  async function setup() {
    const src = join(dir, 'src');
    const remote = join(dir, 'remote');
    mkdirSync(src, { recursive: true });
    mkdirSync(join(remote, 'backup', 'elsewhere'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'a');
    // A killed earlier run left a temp in a directory this run does not upload to, recorded.
    const j = await TempJournal.open(state, { now });
    const left = j.next('/backup/elsewhere/big.bin');
    writeFileSync(join(remote, left), 'partial');
    // A journal line naming a file with another tag (tampered state): never removed.
    const foreign = tempPathFor('/backup/elsewhere/x', 0, newTempTag());
    writeFileSync(join(remote, foreign), 'not ours');
    writeFileSync(TempJournal.path(state), `${JSON.stringify({ t: foreign })}\n`, { flag: 'a' });
    return { src, remote, left, foreign };
  }

  async function run(src: string, t: LocalTransport) {
    const manifest = await Manifest.load(state);
    try {
      return await runJob(job(src), { transport: t, manifest, clock, remoteRoot: '/backup' });
    } finally {
      manifest.close();
    }
  }

  it('the next run that logs in removes exactly the recorded temps, in any directory', async () => {
    const { src, remote, left, foreign } = await setup();
    const t = new NamingTransport(remote);
    const r = await run(src, t);
    assert.equal(r.outcome, 'ok');
    assert.ok(!existsSync(join(remote, left)), 'the recorded temp is removed');
    assert.ok(existsSync(join(remote, foreign)), 'a name with another tag stays');
    assert.deepEqual(t.removes, [left]);
    assert.deepEqual((await TempJournal.open(state, { now })).pendingPaths(), []);
  });

  it('a failed upload leaves its temp to the end of the same run', async () => {
    const { src, remote, left } = await setup();
    writeFileSync(join(src, 'b.txt'), 'b');
    const t = new NamingTransport(remote);
    t.killAt = '/backup/b.txt';
    const r = await run(src, t);
    assert.equal(r.outcome, 'partial');
    assert.ok(!existsSync(join(remote, left)));
    assert.equal(t.removes.length, 2, `removed: ${t.removes}`);
    assert.deepEqual((await TempJournal.open(state, { now })).pendingPaths(), []);
  });

  it('a run that does not log in leaves them for the next one that does', async () => {
    const { src, remote, left } = await setup();
    const t = Object.assign(new NamingTransport(remote), { offline: true });
    await run(src, t);
    assert.ok(existsSync(join(remote, left)), 'no server operation without a login');
    assert.ok((await TempJournal.open(state, { now })).pendingPaths().includes(left));
  });
});
