// Round trips per small upload, counted from ssh2's protocol trace (--debug): requests sent between
// two waits for a reply are one round trip. A 4 KiB file with an mtime takes open | write |
// fstat+fsetstat+close | rename on OpenSSH sshd and ProFTPD (it was open | write | close | setstat by
// path | rename), and the mtime lands. Skipped locally when a server is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import type { SftpTransport } from '../../src/transport/sftp/transport.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';
import { type SshdHandle, sshdUnavailable, startSshd } from '../servers/sshd.js';
import { makeSftp, serverForSuite, sftpAccount, sftpTestServer, tempEnv } from './sftp-helpers.js';

const noSshd = sshdUnavailable();
const noProftpd = proftpdUnavailable();
if ((noSshd || noProftpd) && process.env.CI === 'true')
  throw new Error(`CI=true but a server cannot run: ${noSshd ?? noProftpd}`);

const MTIME = new Date('2020-01-02T03:04:05Z');

/** These servers take a code again within its window: the second login need not wait a step. */
const allowReuse = (a: Account): Account => ({ ...a, otp: { ...a.otp, reuse: 'allow' } as Account['otp'] });

/** The SFTP requests of the trace, grouped by round trip: [['OPEN'], ['WRITE'], ...]. */
function roundTrips(trace: string[]): string[][] {
  const out: string[][] = [];
  let waiting = false;
  for (const l of trace) {
    const sent = /SFTP: Outbound: \S+ (\S+)/.exec(l);
    if (sent) {
      if (!waiting || !out.length) out.push([]);
      out[out.length - 1]?.push(sent[1] as string);
      waiting = true;
    } else if (/SFTP: Inbound: Received/.test(l) && waiting) {
      waiting = false;
    }
  }
  return out;
}

async function traced(
  make: (log: (l: string) => void) => SftpTransport,
  local: string,
  remote: string,
  size = 4096,
) {
  const lines: string[] = [];
  const tr = make((l) => lines.push(l));
  try {
    await tr.connect();
    writeFileSync(local, 'x'.repeat(size));
    const from = lines.length;
    await tr.put(local, remote, { mtime: MTIME });
    const writes = lines.slice(from).filter((l) => /SFTP: Outbound: \S+ WRITE/.test(l)).length;
    return { trips: roundTrips(lines.slice(from)), channels: tr.channelCount, writes };
  } finally {
    await tr.close();
  }
}

describe('SFTP round trips per small upload: OpenSSH sshd', { skip: noSshd ?? false }, () => {
  const t = tempEnv();
  let s: SshdHandle;
  serverForSuite(t, async () => (s = await startSshd()));

  test('open | write | fstat+fsetstat+close | posix-rename, mtime set', async () => {
    const u = s.users.reuse;
    const srv = sftpTestServer(s, s.ports.kbd, u);
    const { trips, channels } = await traced(
      (log) => makeSftp(srv, sftpAccount(srv, s.home(u.name)), t.env, { trace: true, log }),
      join(t.dir, 'a'),
      `${s.home(u.name)}/a`,
    );
    assert.deepEqual(trips, [
      ['OPEN'],
      ['WRITE'],
      ['FSTAT', 'FSETSTAT', 'CLOSE'],
      ['posix-rename@openssh.com'],
    ]);
    // One file at a time opens no second channel (it only would on a file finding none idle).
    assert.equal(channels, 1);
  });

  test('1 MiB goes in 5 WRITEs of up to 255 KiB (limits@openssh.com)', async () => {
    const u = s.users.reuse;
    const srv = sftpTestServer(s, s.ports.kbd, u);
    const { writes } = await traced(
      (log) => makeSftp(srv, allowReuse(sftpAccount(srv, s.home(u.name))), t.env, { trace: true, log }),
      join(t.dir, 'm'),
      `${s.home(u.name)}/m`,
      2 ** 20,
    );
    assert.equal(writes, 5);
    assert.equal(statSync(join(s.home(u.name), 'a')).mtime.toISOString(), MTIME.toISOString());
  });
});

describe('SFTP round trips per small upload: ProFTPD', { skip: noProftpd ?? false }, () => {
  const t = tempEnv();
  let p: ProftpdHandle;
  serverForSuite(t, async () => (p = await startProftpd()));

  test('open | write | fstat+fsetstat+close | rename, mtime set', async () => {
    const u = p.users.totp;
    const srv = sftpTestServer(p, p.ports.sftpKbd, u);
    const { trips } = await traced(
      (log) => makeSftp(srv, sftpAccount(srv, '/'), t.env, { trace: true, log }),
      join(t.dir, 'a'),
      '/a',
    );
    assert.deepEqual(trips.slice(0, 3), [['OPEN'], ['WRITE'], ['FSTAT', 'FSETSTAT', 'CLOSE']]);
    assert.ok(
      trips.slice(3).every((r) => !r.includes('SETSTAT')),
      `no SETSTAT by path: ${JSON.stringify(trips)}`,
    );
    assert.equal(statSync(join(p.home(u.name), 'a')).mtime.toISOString(), MTIME.toISOString());
  });

  test('1 MiB goes in 5 WRITEs of up to 255 KiB (ssh2 alone split each 32 KiB one in two)', async () => {
    const u = p.users.totp;
    const srv = sftpTestServer(p, p.ports.sftpKbd, u);
    const { writes } = await traced(
      (log) => makeSftp(srv, allowReuse(sftpAccount(srv, '/')), t.env, { trace: true, log }),
      join(t.dir, 'm'),
      '/m',
      2 ** 20,
    );
    assert.equal(writes, 5);
    assert.equal(statSync(join(p.home(u.name), 'm')).size, 2 ** 20);
  });
});
