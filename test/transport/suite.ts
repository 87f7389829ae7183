// The conformance suite every Transport passes (like restic's backend test suite). A target gives a way
// to build a logged-in-able transport, the server-side directory on local disk that mirrors the remote
// base, and the secrets that must never show up in logs or errors.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join as localJoin } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { join } from '../../src/transport/remote-path.js';
import {
  isTempName,
  newTempTag,
  removeTemps,
  sweepStaleTemps,
  type TempNamer,
  tempPathFor,
} from '../../src/transport/temp.js';
import { canHash, type HashAlgorithm, type Transport } from '../../src/transport/types.js';
import { FaultProxy } from '../faults/proxy.js';

export interface SuiteTarget {
  /** A new, not yet connected transport. `wrongCode`: one whose one-time codes are all wrong. `log`: where
   *  the transport's log lines go (the suite checks them for secrets). `port`: connect there instead of
   *  the server's port (a fault proxy in front of it). `maxRetries`: the transport's retry budget. */
  makeTransport(opts?: {
    wrongCode?: boolean;
    log?: (line: string) => void;
    port?: number;
    maxRetries?: number;
  }): Promise<Transport>;
  /** The hash algorithms the server offers (`Hasher`), exactly; [] where it offers none (or the
   *  protocol's client cannot ask, as SFTP's check-file with ssh2). */
  hashes: HashAlgorithm[];
  /** Where a plain-TCP fault proxy can sit in front of the server (not TLS: the FTP proxy rewrites
   *  the passive replies on the control connection). `ftp`: route the data connections too. */
  proxy?: { port: number; ftp: boolean };
  /** The server refuses logins beyond a rate (pam_google_authenticator's RATE_LIMIT): wait this long
   *  before a case that logs in twice more. */
  loginPauseMs?: number;
  /** Server-side directory on local disk that corresponds to `remoteBase`. */
  localRoot(): string;
  /** Remote directory (existing, writable) under which the suite works. */
  remoteBase: string;
  /** The login directory: where relative and "~/" paths land, on local disk and as the server names
   *  it ("/" when chrooted, the real home path otherwise). */
  loginDir: { local: string; remote: string };
  /** Refused logins counted by the server so far. */
  failedLogins?(): Promise<number>;
  /** The server refuses a code that was used before (the client must wait for a fresh step). */
  noReuse?: boolean;
  /** False for a transport with no login at all (the engine's LocalTransport fake): the one-time
   *  code cases are skipped, every file operation case still runs. */
  login?: boolean;
  teardown(): Promise<void>;
  /** Passwords, seeds and codes that must never appear in logs or error messages. */
  secrets: string[];
  /** MiB of the large-file case; default 16 (8 SFTP read windows). One target keeps 100 (SUITE_BIG_MB
   *  overrides all): the size past the windows is not what the other targets test. */
  bigMb?: number;
}

/** Files under `dir` (recursive), as paths relative to it. */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    out.push(rel);
    if (e.isDirectory()) out.push(...walk(localJoin(dir, e.name), rel));
  }
  return out;
}

export function transportSuite(name: string, setup: () => Promise<SuiteTarget>): void {
  describe(`transport conformance: ${name}`, () => {
    let target: SuiteTarget;
    let t: Transport;
    let local: string;
    const logs: string[] = [];
    const errors: string[] = [];
    const log = (line: string) => logs.push(line);
    const extra: Transport[] = [];

    const remote = (...p: string[]) => join(target.remoteBase, ...p);
    const onServer = (...p: string[]) => localJoin(target.localRoot(), ...p);
    const localFile = (name: string, data: Uint8Array) => {
      const p = localJoin(local, name);
      writeFileSync(p, data);
      return p;
    };
    /** Records the error's text (for the secrets check) and returns it. */
    const caught = async (p: Promise<unknown>): Promise<unknown> => {
      try {
        await p;
      } catch (e) {
        errors.push(e instanceof OtpBackupError ? `${e.message} ${e.hint ?? ''}` : String(e));
        return e;
      }
      return undefined;
    };

    before(async () => {
      local = mkdtempSync(localJoin(tmpdir(), 'otpbackup-suite-'));
      target = await setup();
      t = await target.makeTransport({ log });
      await t.connect();
      // Created through the transport, so it belongs to the server-side user.
      await t.mkdirp(target.remoteBase);
    });

    after(async () => {
      for (const x of extra) await x.close().catch(() => {});
      await t?.close().catch(() => {});
      await target?.teardown();
      if (local) rmSync(local, { recursive: true, force: true });
    });

    test('concurrency is a positive integer', () => {
      assert.ok(Number.isInteger(t.concurrency) && t.concurrency >= 1);
    });

    test('put: 1 MiB of random bytes, an empty file and a name with spaces and unicode arrive intact', async () => {
      await t.mkdirp(remote('put'));
      const files: [string, Buffer][] = [
        ['random.bin', randomBytes(1024 * 1024 + 17)],
        ['empty', Buffer.alloc(0)],
        ['a name with  spaces – ünïcødé ✓.txt', Buffer.from('héllo wörld\n')],
      ];
      for (const [n, data] of files) {
        let progress = 0;
        await t.put(localFile(n, data), remote('put', n), {
          size: data.length,
          onProgress: (b) => {
            progress = b;
          },
        });
        const got = readFileSync(onServer('put', n));
        assert.equal(got.length, data.length, n);
        assert.ok(got.equals(data), `bytes of ${n} differ`);
        if (data.length >= 1024 * 1024) assert.ok(progress > 0, 'progress was reported');
      }
    });

    test('put overwrites an existing file', async () => {
      await t.mkdirp(remote('over'));
      await t.put(
        localFile('v1', Buffer.from('first version, longer than the second')),
        remote('over', 'f.txt'),
      );
      await t.put(localFile('v2', Buffer.from('second')), remote('over', 'f.txt'));
      assert.equal(readFileSync(onServer('over', 'f.txt'), 'utf8'), 'second');
    });

    test('put refuses a size that does not match and leaves nothing behind', async () => {
      await t.mkdirp(remote('size'));
      const err = await caught(
        t.put(localFile('sz', Buffer.from('12345')), remote('size', 'f'), { size: 6 }),
      );
      assert.ok(err instanceof OtpBackupError, String(err));
      assert.equal(existsSync(onServer('size', 'f')), false);
      assert.deepEqual(readdirSync(onServer('size')), [], 'temporary file removed');
    });

    test('put of a missing local file is a local error', async () => {
      const err = await caught(t.put(localJoin(local, 'does-not-exist'), remote('nope')));
      assert.ok(err instanceof OtpBackupError && err.code === 'local', String(err));
    });

    test('get: random bytes, an empty file and a unicode name come back intact, with their mtime', async () => {
      await t.mkdirp(remote('get'));
      const when = new Date('2024-03-05T06:07:08Z');
      const files: [string, Buffer][] = [
        ['random.bin', randomBytes(1024 * 1024 + 17)],
        ['empty', Buffer.alloc(0)],
        ['a name with  spaces – ünïcødé ✓.txt', Buffer.from('héllo wörld\n')],
      ];
      for (const [n, data] of files) {
        await t.put(localFile(`g-${n}`, data), remote('get', n), { size: data.length });
        const out = localJoin(local, `back-${n}`);
        let progress = 0;
        const listed = (await t.list(remote('get'))).find((e) => e.name === n);
        assert.equal(listed?.size, data.length, `listing of ${n}`);
        await t.get(remote('get', n), out, {
          size: data.length,
          mtime: when,
          onProgress: (b) => {
            progress = b;
          },
        });
        const got = readFileSync(out);
        assert.ok(got.equals(data), `bytes of ${n} differ`);
        assert.equal(statSync(out).mtime.getTime(), when.getTime(), `mtime of ${n}`);
        if (data.length >= 1024 * 1024) assert.ok(progress > 0, 'progress was reported');
        // Without a size: the server's own size is the check.
        const out2 = localJoin(local, `back2-${n}`);
        await t.get(remote('get', n), out2);
        assert.ok(readFileSync(out2).equals(data), `bytes of ${n} (no size given)`);
      }
      assert.deepEqual(
        readdirSync(local).filter((f) => f.includes('.otpbackup-part-')),
        [],
        'no temporary download files',
      );
    });

    test('get of a large file streams it whole', async () => {
      await t.mkdirp(remote('big'));
      const mb = Number(process.env.SUITE_BIG_MB ?? target.bigMb ?? 16);
      const chunk = randomBytes(1024 * 1024);
      const src = localJoin(local, 'big.src');
      const h = createHash('sha256');
      const buf = Buffer.alloc(mb * chunk.length);
      for (let i = 0; i < mb; i++) {
        chunk[0] = i & 0xff; // every MiB differs: a chunk written at the wrong offset shows
        chunk.copy(buf, i * chunk.length);
      }
      h.update(buf);
      writeFileSync(src, buf);
      await t.put(src, remote('big', 'big.bin'), { size: buf.length });
      const out = localJoin(local, 'big.out');
      await t.get(remote('big', 'big.bin'), out, { size: buf.length });
      assert.equal(createHash('sha256').update(readFileSync(out)).digest('hex'), h.digest('hex'));
      rmSync(out);
      rmSync(src);
      await t.remove(remote('big', 'big.bin'));
    });

    test('get of a missing file, or of the wrong size, fails and leaves the local file alone', async () => {
      await t.mkdirp(remote('getbad'));
      const out = localJoin(local, 'keep-me');
      writeFileSync(out, 'the good local copy');
      const missing = await caught(t.get(remote('getbad', 'nope'), out));
      assert.ok(missing instanceof OtpBackupError && missing.code === 'remote', String(missing));
      await t.put(localFile('gb', Buffer.from('12345')), remote('getbad', 'five'));
      const wrong = await caught(t.get(remote('getbad', 'five'), out, { size: 6 }));
      assert.ok(wrong instanceof OtpBackupError, String(wrong));
      assert.equal(readFileSync(out, 'utf8'), 'the good local copy');
      assert.deepEqual(
        readdirSync(local).filter((f) => f.includes('.otpbackup-part-')),
        [],
        'no temporary download files',
      );
      // The session survives both.
      await t.get(remote('getbad', 'five'), out, { size: 5 });
      assert.equal(readFileSync(out, 'utf8'), '12345');
    });

    test('hash: offered exactly where the server has one, and it is the digest of the content', async () => {
      const offered = canHash(t) ? t.hashAlgorithms() : [];
      assert.deepEqual([...offered].sort(), [...target.hashes].sort(), 'the algorithms offered');
      if (!canHash(t) || offered.length === 0) return;
      await t.mkdirp(remote('hash'));
      const data = randomBytes(300_001);
      await t.put(localFile('h', data), remote('hash', 'h.bin'));
      await t.put(localFile('h0', Buffer.alloc(0)), remote('hash', 'empty'));
      for (const algo of offered) {
        const want = createHash(algo).update(data).digest('hex');
        assert.equal(await t.hash(remote('hash', 'h.bin'), algo), want, algo);
        const empty = createHash(algo).digest('hex');
        assert.equal(await t.hash(remote('hash', 'empty'), algo), empty, `${algo} of an empty file`);
      }
    });

    test('mkdirp creates nested directories and is idempotent', async () => {
      await t.mkdirp(remote('deep', 'a', 'b c', 'd'));
      await t.mkdirp(remote('deep', 'a', 'b c', 'd'));
      await t.mkdirp(remote('deep', 'a'));
      assert.ok(statSync(onServer('deep', 'a', 'b c', 'd')).isDirectory());
      const st = await t.stat(remote('deep', 'a', 'b c'));
      assert.equal(st?.type, 'dir');
    });

    test('stat, list, rename and remove', async () => {
      await t.mkdirp(remote('ops', 'sub'));
      const data = randomBytes(1234);
      await t.put(localFile('ops1', data), remote('ops', 'one.bin'));
      await t.put(localFile('ops2', Buffer.from('two')), remote('ops', 'two.txt'));

      const st = await t.stat(remote('ops', 'one.bin'));
      assert.equal(st?.type, 'file');
      assert.equal(st?.size, 1234);
      assert.equal(st?.name, 'one.bin');
      assert.equal(await t.stat(remote('ops', 'missing')), undefined);
      assert.equal(await t.stat(remote('no-such-dir', 'missing')), undefined);

      const names = (await t.list(remote('ops'))).map((e) => `${e.name}:${e.type}`).sort();
      assert.deepEqual(names, ['one.bin:file', 'sub:dir', 'two.txt:file']);
      const one = (await t.list(remote('ops'))).find((e) => e.name === 'one.bin');
      assert.equal(one?.size, 1234);
      assert.equal(one?.path, remote('ops', 'one.bin'));

      await t.rename(remote('ops', 'one.bin'), remote('ops', 'sub', 'moved.bin'));
      assert.equal(await t.stat(remote('ops', 'one.bin')), undefined);
      assert.ok(readFileSync(onServer('ops', 'sub', 'moved.bin')).equals(data));

      // rename replaces an existing target
      await t.rename(remote('ops', 'two.txt'), remote('ops', 'sub', 'moved.bin'));
      assert.equal(readFileSync(onServer('ops', 'sub', 'moved.bin'), 'utf8'), 'two');

      await t.remove(remote('ops', 'sub', 'moved.bin'));
      assert.equal(existsSync(onServer('ops', 'sub', 'moved.bin')), false);
      await t.remove(remote('ops', 'sub', 'moved.bin')); // already gone: not an error
      await t.remove(remote('ops', 'sub')); // empty directory
      assert.equal(existsSync(onServer('ops', 'sub')), false);
      assert.deepEqual(await t.list(remote('ops')), []);
    });

    test('the contract: list sorts by name; remove never takes a tree, and says so', async () => {
      await t.mkdirp(remote('contract', 'full'));
      // Created out of order, so a listing in creation or hash order would differ.
      for (const n of ['m.txt', 'B.txt', 'z.txt', 'a.txt', '0.txt'])
        await t.put(localFile(`c-${n}`, Buffer.from(n)), remote('contract', n));
      await t.put(localFile('c-inner', Buffer.from('keep me')), remote('contract', 'full', 'inner.txt'));
      const names = (await t.list(remote('contract'))).map((e) => e.name);
      assert.deepEqual(names, ['0.txt', 'B.txt', 'a.txt', 'full', 'm.txt', 'z.txt']);

      const err = await caught(t.remove(remote('contract', 'full')));
      assert.ok(err instanceof OtpBackupError && err.code === 'remote', `a non-empty directory: ${err}`);
      assert.ok(
        readFileSync(onServer('contract', 'full', 'inner.txt')).equals(Buffer.from('keep me')),
        'the file inside the directory is still there',
      );
      await t.remove(remote('contract', 'full', 'inner.txt'));
      await t.remove(remote('contract', 'full'));
      for (const n of names.filter((x) => x !== 'full')) await t.remove(remote('contract', n));
      assert.deepEqual(await t.list(remote('contract')), []);
    });

    test('concurrent puts up to the transport concurrency all land', async () => {
      await t.mkdirp(remote('conc'));
      const n = Math.min(4, t.concurrency) + 1;
      const datas = Array.from({ length: n }, () => randomBytes(20_000));
      await Promise.all(datas.map((d, i) => t.put(localFile(`c${i}`, d), remote('conc', `c${i}`))));
      datas.forEach((d, i) => {
        assert.ok(readFileSync(onServer('conc', `c${i}`)).equals(d));
      });
    });

    test('names with CR, LF or NUL are refused before anything is sent', async () => {
      await t.mkdirp(remote('bad'));
      const f = localFile('bad-src', Buffer.from('x'));
      for (const bad of ['evil\r\nDELE x', 'evil\nname', 'evil\0name', 'evil\rname']) {
        for (const op of [
          () => t.put(f, remote('bad', bad)),
          () => t.mkdirp(remote('bad', bad)),
          () => t.stat(remote('bad', bad)),
          () => t.list(remote('bad', bad)),
          () => t.rename(remote('bad', 'x'), remote('bad', bad)),
          () => t.remove(remote('bad', bad)),
        ]) {
          const err = await caught(op());
          assert.ok(err instanceof OtpBackupError, `not refused: ${String(err)}`);
          assert.equal(err.code, 'usage');
        }
      }
      assert.deepEqual(readdirSync(onServer('bad')), [], 'nothing was created');
      assert.deepEqual(await t.list(remote('bad')), [], 'the session still works');
    });

    test('stale temporary files of the tag are swept; other names stay', async () => {
      await t.mkdirp(remote('stale'));
      const tag = newTempTag();
      const old = tempPathFor(remote('stale', 'f.txt'), Date.now() - 2 * 3600_000, tag);
      const fresh = tempPathFor(remote('stale', 'g.txt'), Date.now(), tag);
      const otherTag = tempPathFor(remote('stale', 'h.txt'), Date.now() - 2 * 3600_000, newTempTag());
      const kept = tempPathFor(remote('stale', 'k.txt'), Date.now() - 2 * 3600_000, tag);
      const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
      // The shape temp names had before they carried a tag: a user file now.
      const lookalike = '.x.otpbackup-tmp-0-00000000';
      for (const p of [old, fresh, otherTag, kept]) writeFileSync(onServer('stale', base(p)), 'partial');
      writeFileSync(onServer('stale', 'keep.txt'), 'keep');
      writeFileSync(onServer('stale', lookalike), 'user data');
      const keep = (p: string) => p === kept;
      const removed = await sweepStaleTemps(t, remote('stale'), { tag, nowMs: Date.now(), keep });
      assert.deepEqual(removed, [old]);
      const left = [fresh, otherTag, kept].map(base);
      assert.deepEqual(readdirSync(onServer('stale')).sort(), [...left, 'keep.txt', lookalike].sort());
      const all = await sweepStaleTemps(t, remote('stale'), { tag, nowMs: Date.now(), keep, all: true });
      assert.deepEqual(all, [fresh]);
      for (const p of [otherTag, kept]) await t.remove(p);
      assert.deepEqual(readdirSync(onServer('stale')).sort(), ['keep.txt', lookalike].sort());
      await t.remove(remote('stale', lookalike)); // the suite's last check looks for temp-like names
    });

    test('recorded temp names are removed wherever they are; others are only dropped', async () => {
      await t.mkdirp(remote('journal', 'a'));
      await t.mkdirp(remote('journal', 'b'));
      const tag = newTempTag();
      const made: string[] = [];
      const namer: TempNamer = {
        next: (final) => {
          const p = tempPathFor(final, Date.now(), tag);
          made.push(p);
          return p;
        },
        gone: () => {},
      };
      // A put records its name through the namer.
      await t.put(localFile('journal-src', Buffer.from('x')), remote('journal', 'a', 'done.txt'), {
        temps: namer,
      });
      assert.equal(made.length, 1);
      const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
      const inA = tempPathFor(remote('journal', 'a', 'x.bin'), Date.now(), tag);
      const inB = tempPathFor(remote('journal', 'b', 'y.bin'), Date.now(), tag);
      const foreign = tempPathFor(remote('journal', 'b', 'z.bin'), Date.now(), newTempTag());
      writeFileSync(onServer('journal', 'a', base(inA)), 'partial');
      writeFileSync(onServer('journal', 'b', base(inB)), 'partial');
      writeFileSync(onServer('journal', 'b', base(foreign)), 'not ours');
      writeFileSync(onServer('journal', 'b', 'plain.txt'), 'not a temp name');
      const settled = await removeTemps(
        t,
        [...made, inA, inB, foreign, remote('journal', 'b', 'plain.txt'), remote('journal', 'b', 'gone.bin')],
        { tag },
      );
      assert.equal(settled.length, 6, 'every path is settled');
      assert.deepEqual(readdirSync(onServer('journal', 'a')), ['done.txt']);
      assert.deepEqual(readdirSync(onServer('journal', 'b')).sort(), [base(foreign), 'plain.txt'].sort());
      await t.remove(foreign);
    });

    test('two logins in a row both succeed without a refused login', async () => {
      const before = target.failedLogins ? await target.failedLogins() : 0;
      for (let i = 0; i < 2; i++) {
        const x = await target.makeTransport({ log });
        extra.push(x);
        await x.connect();
        assert.equal((await x.stat(remote('put', 'empty')))?.size, 0);
        await x.close();
      }
      if (target.failedLogins)
        assert.equal(await target.failedLogins(), before, 'the server refused a login');
    });

    test('a wrong one-time code fails with exit code 4 after at most 2 attempts', async (ctx) => {
      if (target.login === false) return ctx.skip('this transport has no login');
      const before = target.failedLogins ? await target.failedLogins() : 0;
      const x = await target.makeTransport({ wrongCode: true, log });
      extra.push(x);
      const err = await caught(x.connect());
      assert.ok(err instanceof OtpBackupError, String(err));
      assert.equal(err.exitCode, 4);
      assert.equal(err.code, 'auth');
      assert.match(err.message, /UTC/);
      if (target.failedLogins) {
        const n = (await target.failedLogins()) - before;
        assert.ok(n >= 1 && n <= 2, `${n} refused logins`);
      }
    });

    test('a connection cut mid-get: the local file is left alone, no part file remains, the next get succeeds', async (ctx) => {
      if (!target.proxy) return ctx.skip('no plain-TCP way in front of this server (TLS, or no network)');
      // Two more logins: a server that counts logins per window must have forgotten the last ones.
      if (target.loginPauseMs) await new Promise((r) => setTimeout(r, target.loginPauseMs));
      await t.mkdirp(remote('cut'));
      const data = randomBytes(4 * 1024 * 1024);
      await t.put(localFile('cut-src', data), remote('cut', 'big.bin'), { size: data.length });
      const proxy = await new FaultProxy(target.proxy.port, { ftp: target.proxy.ftp }).start();
      // No retries: the cut must reach the caller, not be healed by a reconnect inside get().
      const x = await target.makeTransport({ log, port: proxy.port, maxRetries: 0 });
      extra.push(x);
      try {
        await x.connect();
        const out = localJoin(local, 'cut-keep');
        writeFileSync(out, 'the good local copy');
        proxy.resetCount();
        proxy.arm({ kind: 'reset', afterBytes: data.length / 2 });
        const err = await caught(x.get(remote('cut', 'big.bin'), out, { size: data.length }));
        assert.equal(proxy.fired.length, 1, 'the proxy cut the connection');
        // Usually 'network'; a server may report the broken data connection itself (ftp-srv: 551).
        assert.ok(err instanceof OtpBackupError, `the get failed: ${String(err)}`);
        assert.equal(readFileSync(out, 'utf8'), 'the good local copy');
        assert.deepEqual(
          readdirSync(local).filter((f) => f.includes('.otpbackup-part-')),
          [],
          'no temporary download files',
        );
        // The same transport logs in again as needed and finishes the job.
        await x.get(remote('cut', 'big.bin'), out, { size: data.length });
        assert.ok(readFileSync(out).equals(data), 'the next get brought the whole file');
      } finally {
        await x.close().catch(() => {});
        await proxy.stop();
      }
      await t.remove(remote('cut', 'big.bin'));
    });

    // #13.1: uploads to the login directory itself ("." and "~", as `--to ftp://u@h/` and accounts
    // without remoteDir give) must work, not only to sub-directories named by absolute paths.
    test('the login directory: relative, "." and "~/" paths put, get, stat, list, rename and remove there', async () => {
      const tag = randomBytes(4).toString('hex');
      const home = target.loginDir;
      const a = `login-${tag}.txt`;
      const b = `login-${tag}-b.txt`;
      const d = `login-${tag}-dir`;
      const data = randomBytes(3000);
      await t.mkdirp('.');
      await t.mkdirp('~');
      await t.put(localFile(a, data), a, { size: data.length });
      assert.ok(
        readFileSync(localJoin(home.local, a)).equals(data),
        'a relative name lands in the login directory',
      );
      await t.put(localFile(b, Buffer.from('b')), `~/${b}`);
      assert.equal(readFileSync(localJoin(home.local, b), 'utf8'), 'b', '"~/name" lands there too');
      // get from the login directory by a relative and a "~/" name.
      const back = localJoin(local, `back-${a}`);
      await t.get(a, back, { size: data.length });
      assert.ok(readFileSync(back).equals(data), 'get of a relative name');
      await t.get(`~/${b}`, back);
      assert.equal(readFileSync(back, 'utf8'), 'b', 'get of a "~/" name');
      assert.equal((await t.stat(`~/${a}`))?.size, data.length);
      assert.equal((await t.stat(`./${b}`))?.type, 'file');
      assert.equal((await t.stat('.'))?.type, 'dir');
      assert.equal((await t.stat('~'))?.type, 'dir');
      for (const dir of ['.', '~', './', '~/']) {
        const entry = (await t.list(dir)).find((e) => e.name === a);
        assert.equal(entry?.size, data.length, `list ${dir}`);
        // Paths come back absolute, as the server names them: "~" was resolved at login.
        assert.equal(entry?.path, join(home.remote, a), `list ${dir}: the entry's path`);
      }
      await t.mkdirp(`${d}/sub`);
      assert.ok(statSync(localJoin(home.local, d, 'sub')).isDirectory());
      await t.rename(a, `~/${d}/sub/${a}`);
      assert.ok(readFileSync(localJoin(home.local, d, 'sub', a)).equals(data));
      assert.equal(await t.stat(a), undefined);
      await t.remove(`~/${b}`);
      await t.remove(`${d}/sub/${a}`);
      await t.remove(`~/${d}/sub`);
      await t.remove(d);
      assert.equal(existsSync(localJoin(home.local, b)), false);
      assert.equal(existsSync(localJoin(home.local, d)), false);
      const left = readdirSync(home.local).filter((n) => n.includes(tag));
      assert.deepEqual(left, [], 'nothing left in the login directory, temp files included');
    });

    test('no temporary files remain', () => {
      const left = walk(target.localRoot()).filter(
        (p) => isTempName(p.slice(p.lastIndexOf('/') + 1)) || p.includes('.otpbackup-tmp-'),
      );
      assert.deepEqual(left, []);
    });

    test('logs and errors contain none of the secrets', () => {
      const text = [...logs, ...errors].join('\n');
      assert.ok(errors.length > 0, 'errors were captured');
      for (const s of target.secrets) {
        if (s) assert.ok(!text.includes(s), `a secret of length ${s.length} leaked into logs or errors`);
      }
    });
  });
}

/** Creates `dir` on local disk (for targets whose remote base is a subdirectory). */
export function ensureLocalDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}
