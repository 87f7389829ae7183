// --bwlimit (#17 §4): the token bucket on its own (a simulated clock: exact, CPU-independent), then
// on the data stream of both protocols against ProFTPD on loopback, 10 s-equivalent of bytes each
// way up and 5 s down. Speed is checked from both sides: the limiter never lets more bytes through
// than rate × time + burst (its own monotonic clock), and the transfer is never more than 10 %
// faster than the rate (bytes over monotonic elapsed time). Slower only happens under load, so the
// lower bound is loose (a quarter of the rate) or CPU-independent (the waits the limiter imposed).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { type BandwidthLimiter, createLimiter, parseRate } from '../../src/transport/bwlimit.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { createCredentialSource } from '../../src/transport/login.js';
import { cli, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';
import { makeSftp, sftpAccount, sftpTestServer, tempEnv } from './sftp-helpers.js';

const missing = proftpdUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`CI=true but ProFTPD cannot run: ${missing}`);

const KiB = 1024;
const MiB = 1024 * 1024;

describe('parseRate: bytes per second, k/M/G = 1024ⁿ', () => {
  test('the forms rclone users write', () => {
    assert.equal(parseRate('1M'), MiB);
    assert.equal(parseRate('500k'), 500 * KiB);
    assert.equal(parseRate('500K'), 500 * KiB);
    assert.equal(parseRate('1.5G'), 1.5 * 1024 * MiB);
    assert.equal(parseRate('800'), 800);
    assert.equal(parseRate('2MiB'), 2 * MiB);
    assert.equal(parseRate('2MB/s'), 2 * MiB);
    assert.equal(parseRate('0'), 0);
    assert.equal(parseRate('off'), 0);
  });
  test('anything else is not a rate', () => {
    for (const bad of ['', 'fast', '-1M', '1T', '1 Mbit', '0.5', 'M', '1MM'])
      assert.equal(parseRate(bad), undefined, bad);
  });
});

/**
 * A limiter that records, on its own monotonic clock, when each take() let its bytes go, and the
 * waits it imposed. `ahead` is the worst excess of bytes let through over burst + rate × elapsed.
 */
function recording(rate: number) {
  const inner = createLimiter(rate);
  let t0: number | undefined;
  let passed = 0;
  let ahead = Number.NEGATIVE_INFINITY;
  let waitedMs = 0;
  let takes = 0;
  const limiter: BandwidthLimiter = {
    rate: inner.rate,
    burst: inner.burst,
    reserve(bytes) {
      const w = inner.reserve(bytes);
      waitedMs += w;
      return w;
    },
    after(bytes, go) {
      const start = performance.now();
      t0 ??= start;
      takes++;
      const w = inner.reserve(bytes);
      waitedMs += w; // what the bucket asked for: computed, not measured
      let timer: NodeJS.Timeout | undefined;
      const tick = () => {
        const left = start + w - performance.now();
        if (left > 0) {
          timer = setTimeout(tick, Math.ceil(left));
          return;
        }
        passed += bytes;
        ahead = Math.max(ahead, passed - (inner.burst + (rate * (performance.now() - t0!)) / 1000));
        go();
      };
      tick();
      return () => clearTimeout(timer);
    },
    take(bytes, signal) {
      return new Promise<void>((resolve, reject) => {
        signal?.throwIfAborted();
        const cancel = limiter.after(bytes, resolve);
        signal?.addEventListener('abort', () => {
          cancel();
          reject(signal.reason);
        });
      });
    },
  };
  return {
    limiter,
    stats: () => ({ passed, ahead, waitedMs, takes }),
  };
}

describe('the token bucket, on a simulated clock', () => {
  test('4 concurrent takers of 32 KiB pieces: 10 s of bytes at 1 MiB/s take 10 s ± 1 %, never ahead', () => {
    let now = 0;
    const rate = MiB;
    const l = createLimiter(rate, { now: () => now });
    const ready = [0, 0, 0, 0];
    let passed = 0;
    let last = 0;
    while (passed < 10 * MiB) {
      const i = ready.indexOf(Math.min(...ready));
      now = ready[i]!;
      const at = now + l.reserve(32 * KiB);
      passed += 32 * KiB;
      assert.ok(passed <= l.burst + (rate * at) / 1000 + 1, `ahead at ${at} ms: ${passed} bytes`);
      ready[i] = at;
      last = Math.max(last, at);
    }
    const seconds = (last + 0) / 1000;
    // The first burst goes at once: 10 MiB need (10 MiB − burst) / rate.
    assert.ok(Math.abs(seconds - (10 * MiB - l.burst) / rate) < 0.01, `took ${seconds} s`);
    assert.ok(Math.abs(passed / seconds / rate - 1) < 0.02, 'within 2 % of the rate');
  });

  test('an idle spell does not save up more than the burst', () => {
    let now = 0;
    const l = createLimiter(MiB, { now: () => now });
    assert.equal(l.burst, Math.floor(MiB / 10), 'a tenth of a second');
    now = 60_000; // a minute idle
    assert.equal(l.reserve(l.burst), 0, 'the burst passes at once');
    assert.ok(Math.abs(l.reserve(MiB) - 1000) < 1e-6, 'the next MiB waits a full second');
    assert.ok(Math.abs(l.reserve(MiB) - 2000) < 1e-6, 'and the one after it two: reservations queue');
  });

  test('take() gives up with the signal, at once', async () => {
    const l = createLimiter(1024);
    l.reserve(l.burst);
    const ac = new AbortController();
    const p = l.take(10 * 1024 * 1024, ac.signal); // 2.8 hours at this rate
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
  });
});

describe('--bwlimit on the data stream, ProFTPD on loopback', { skip: missing ?? false }, () => {
  let p: ProftpdHandle;
  const t = tempEnv();
  const local = mkdtempSync(join(tmpdir(), 'otpbackup-bwlimit-'));
  before(async () => {
    p = await startProftpd();
  });
  after(async () => {
    await p?.stop();
    t.cleanup();
    rmSync(local, { recursive: true, force: true });
  });

  function ftp(): FtpTransport {
    const u = p.users.totp;
    const a: Account = {
      name: 'bw-ftp',
      protocol: 'ftp',
      host: '127.0.0.1',
      port: p.ports.ftp,
      user: u.name,
      remoteDir: '/',
      template: '${OTP}',
      otp: {
        type: 'totp',
        secret: 'ref:seed',
        algorithm: 'sha1',
        digits: 6,
        period: 30,
        t0: 0,
        reuse: 'allow',
        marginSeconds: 2,
      },
      trust: {},
      timeout: 30,
    };
    const credentials = createCredentialSource({
      account: a,
      env: t.env,
      clock: systemClock,
      getSecret: async () => u.secret,
    });
    return new FtpTransport({ account: a, credentials, clock: systemClock });
  }

  function sftp() {
    const u = p.users.totp;
    const srv = sftpTestServer(p, p.ports.sftpKbd, u);
    const a = sftpAccount(srv, '/', { name: 'bw-sftp', timeout: 30 });
    a.otp = { ...a.otp, reuse: 'allow' };
    return makeSftp(srv, a, t.env);
  }

  function file(name: string, size: number): string {
    const f = join(local, name);
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) b.writeUInt32BE(i >>> 0, i);
    writeFileSync(f, b);
    return f;
  }

  /** bytes / monotonic seconds, and the checks every measurement shares. */
  function check(
    label: string,
    rate: number,
    bytes: number,
    ms: number,
    s: ReturnType<ReturnType<typeof recording>['stats']>,
  ) {
    const measured = bytes / (ms / 1000);
    const line = `${label}: ${bytes} bytes in ${(ms / 1000).toFixed(2)} s = ${(measured / KiB).toFixed(0)} KiB/s (limit ${rate / KiB} KiB/s, ${s.takes} takes)`;
    console.log(line);
    assert.equal(s.passed, bytes, `${label}: every byte passed the limiter once`);
    assert.ok(s.ahead <= 1, `${label}: the limiter ran ${s.ahead} bytes ahead of rate × time + burst`);
    assert.ok(measured <= rate * 1.1, `${label}: more than 10 % over the limit: ${line}`);
    assert.ok(measured >= rate / 4, `${label}: far below the limit even for a busy machine: ${line}`);
  }

  test('FTP upload: 10 MiB at 1 MiB/s', async () => {
    const rate = MiB;
    const size = 10 * MiB;
    const src = file('up-ftp.bin', size);
    const r = recording(rate);
    const tr = ftp();
    await tr.connect();
    try {
      await tr.mkdirp('/bw');
      const t0 = performance.now();
      await tr.put(src, '/bw/up-ftp.bin', { size, limiter: r.limiter });
      const ms = performance.now() - t0;
      check('ftp put', rate, size, ms, r.stats());
      // CPU-independent: what the bucket made this one stream wait is the rate's time, ±10 %.
      const want = ((size - r.limiter.burst) / rate) * 1000;
      assert.ok(
        Math.abs(r.stats().waitedMs / want - 1) < 0.1,
        `waited ${r.stats().waitedMs} ms, want ${want}`,
      );
      assert.equal(statSync(join(p.home(p.users.totp.name), 'bw/up-ftp.bin')).size, size);
    } finally {
      await tr.close();
    }
  });

  test('FTP download: 2.5 MiB at 512 KiB/s', async () => {
    const rate = 512 * KiB;
    const size = 2.5 * MiB;
    const dir = join(p.home(p.users.totp.name), 'bw');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'down-ftp.bin'), readFileSync(file('down-ftp.src', size)));
    const r = recording(rate);
    const tr = ftp();
    await tr.connect();
    try {
      const t0 = performance.now();
      await tr.get('/bw/down-ftp.bin', join(local, 'down-ftp.bin'), { size, limiter: r.limiter });
      check('ftp get', rate, size, performance.now() - t0, r.stats());
      assert.equal(statSync(join(local, 'down-ftp.bin')).size, size);
    } finally {
      await tr.close();
    }
  });

  test('SFTP: 8 concurrent uploads share one bucket (5 MiB at 512 KiB/s), then a download (2.5 MiB)', async () => {
    const rate = 512 * KiB;
    const tr = sftp();
    await tr.connect();
    try {
      const up = recording(rate);
      const files = Array.from({ length: 8 }, (_, i) => file(`up-sftp-${i}.bin`, 640 * KiB));
      await tr.mkdirp('/bw-sftp');
      const t0 = performance.now();
      await Promise.all(
        files.map((f, i) => tr.put(f, `/bw-sftp/${i}.bin`, { size: 640 * KiB, limiter: up.limiter })),
      );
      check('sftp put ×8', rate, 8 * 640 * KiB, performance.now() - t0, up.stats());

      const down = recording(rate);
      const size = 2.5 * MiB;
      writeFileSync(
        join(p.home(p.users.totp.name), 'bw-sftp/down.bin'),
        readFileSync(file('down-sftp.src', size)),
      );
      const t1 = performance.now();
      await tr.get('/bw-sftp/down.bin', join(local, 'down-sftp.bin'), { size, limiter: down.limiter });
      check('sftp get', rate, size, performance.now() - t1, down.stats());
      assert.deepEqual(
        readFileSync(join(local, 'down-sftp.bin')),
        readFileSync(join(local, 'down-sftp.src')),
      );
    } finally {
      await tr.close();
    }
  });

  test('otpbackup upload --bwlimit 256k: 768 KiB take at least 2.8 s (the flag reaches the stream)', async () => {
    const box = sandbox('otpbackup-bwup-');
    try {
      const src = file('cli.bin', 768 * KiB);
      const u = p.users.totp;
      const t0 = performance.now();
      const r = await cli(
        [
          'upload',
          src,
          '--to',
          `ftp://${u.name}@127.0.0.1:${p.ports.ftp}/bwcli`,
          '--otp-reuse',
          'allow',
          '--template',
          '${TOTP}',
          '--bwlimit',
          '256k',
        ],
        { ...box.env, OTPBACKUP_TOTP_SECRET: u.secret },
      );
      const ms = performance.now() - t0;
      assert.equal(r.status, 0, r.stderr);
      // (768 KiB − the 32 KiB burst) / 256 KiB/s = 2.875 s; load only makes it longer.
      assert.ok(ms >= 2800, `took ${ms} ms`);
      assert.equal(statSync(join(p.home(u.name), 'bwcli/cli.bin')).size, 768 * KiB);
    } finally {
      box.cleanup();
    }
  });
});

describe('--bwlimit on the command line', () => {
  const box = sandbox('otpbackup-bwcli-');
  after(() => box.cleanup());
  test('a value that is not a rate: one line naming the flag and the fix, exit 2, nothing sent', async () => {
    writeFileSync(join(box.dir, 'f'), 'x');
    for (const cmd of [
      ['upload', join(box.dir, 'f'), '--to', 'ftp://u@127.0.0.1:1/x', '--bwlimit', 'fast'],
      ['run', '--bwlimit', '1T'],
    ]) {
      const r = await cli(cmd, { ...box.env, OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--bwlimit "(fast|1T)" is not a rate/);
      assert.match(r.stderr, /500k, 1M or 1\.5G/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
