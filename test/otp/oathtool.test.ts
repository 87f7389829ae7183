// Agreement with oathtool (OATH Toolkit) on random seeds, times, algorithms, digit counts, periods
// and start times. Seeds are random throwaways and go to oathtool on stdin ("-"), not argv.
// One spawn checks a window of 5 consecutive codes, so 240 spawns compare 1200 codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Algorithm } from '../../src/config/types.js';
import { encodeBase32, hotp, parseSecret, totpAt, totpForStep } from '../../src/otp/index.js';
import { requireTool } from '../support/require.js';

const OATHTOOL = '/usr/bin/oathtool';
const skip = requireTool('oathtool');
const WINDOW = 4;

function oathtool(args: string[], key: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(OATHTOOL, [...args, '-w', String(WINDOW), '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`oathtool ${args.join(' ')} exited ${code}: ${err}`));
      else resolve(out.trim().split('\n'));
    });
    p.stdin.end(key);
  });
}

/** Runs jobs with at most `n` in flight: the machine is small and shared. */
async function pool<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await f(items[next++]!);
    }),
  );
}

const pick = <T>(xs: readonly T[]): T => xs[randomInt(xs.length)]!;

describe('agreement with oathtool', { skip }, () => {
  it('TOTP: 240 random seeds x times x sha1/sha256/sha512 x 6/7/8 digits x periods x t0', async () => {
    const algs: Algorithm[] = ['sha1', 'sha256', 'sha512'];
    const cases = Array.from({ length: 240 }, (_, i) => {
      const secret = new Uint8Array(randomBytes(randomInt(10, 65)));
      const algorithm = algs[i % 3]!;
      const digits = 6 + (Math.floor(i / 3) % 3);
      const period = pick([30, 30, 60, randomInt(1, 301)]);
      const t0 = pick([0, 0, randomInt(0, 1_000_000_000)]);
      const time = randomInt(1_000_000_000, 4_000_000_000) + randomInt(1000) / 1000;
      return { secret, algorithm, digits, period, t0, time, base32: i % 2 === 0 };
    });
    let compared = 0;
    await pool(cases, 4, async (c) => {
      const args = [`--totp=${c.algorithm.toUpperCase()}`, '-d', String(c.digits), '-s', `${c.period}s`];
      args.push('-S', `@${c.t0}`, '--now', `@${Math.floor(c.time)}`);
      if (c.base32) args.push('-b');
      const key = c.base32 ? encodeBase32(c.secret) : Buffer.from(c.secret).toString('hex');
      const theirs = await oathtool(args, key);
      const secret = c.base32 ? parseSecret(key) : parseSecret(`hex:${key}`);
      const p = { algorithm: c.algorithm, digits: c.digits, period: c.period, t0: c.t0 };
      const first = totpAt(secret, c.time * 1000, p);
      const ours = [first.code];
      for (let k = 1; k <= WINDOW; k++) ours.push(totpForStep(secret, first.step + k, p));
      assert.deepEqual(ours, theirs, JSON.stringify({ ...c, secret: undefined, args }));
      compared += ours.length;
    });
    assert.equal(compared, 240 * (WINDOW + 1));
  });

  it('HOTP: 40 random seeds x counters x 6/7/8 digits (oathtool HOTP is SHA-1 only)', async () => {
    const cases = Array.from({ length: 40 }, (_, i) => ({
      secret: new Uint8Array(randomBytes(randomInt(10, 65))),
      digits: 6 + (i % 3),
      counter: pick([0, randomInt(1000), randomInt(2 ** 40)]),
    }));
    await pool(cases, 4, async (c) => {
      const theirs = await oathtool(
        ['--hotp', '-d', String(c.digits), '-c', String(c.counter)],
        Buffer.from(c.secret).toString('hex'),
      );
      const ours = Array.from({ length: WINDOW + 1 }, (_, k) =>
        hotp(c.secret, c.counter + k, { algorithm: 'sha1', digits: c.digits }),
      );
      assert.deepEqual(ours, theirs, `digits ${c.digits} counter ${c.counter}`);
    });
  });
});
