// The SFTP channel pool (#18): several SFTP channels on the one SSH connection, one login and one
// code for all of them. Against stock OpenSSH sshd (one sftp-server per channel, counted in its
// VERBOSE log; 4 by default there) and ProFTPD mod_sftp (1 by default); a server that refuses the
// extra channels (sshd MaxSessions 1) leaves the transport on one, without an error. Skipped
// locally when a server is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SftpTransport } from '../../src/transport/sftp/transport.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';
import { type SshdHandle, type SshdOtpUser, sshdUnavailable, startSshd } from '../servers/sshd.js';
import { makeSftp, serverForSuite, sftpAccount, sftpTestServer, tempEnv } from './sftp-helpers.js';

const noSshd = sshdUnavailable();
const noProftpd = proftpdUnavailable();
if ((noSshd || noProftpd) && process.env.CI === 'true')
  throw new Error(`CI=true but a server cannot run: ${noSshd ?? noProftpd}`);

const FILES = 24;

/** FILES small files uploaded all at once, then downloaded all at once; contents compared. */
async function roundTrip(tr: SftpTransport, localDir: string, remoteDir: string, landed: string) {
  mkdirSync(join(localDir, 'up'), { recursive: true });
  mkdirSync(join(localDir, 'down'), { recursive: true });
  const names = Array.from({ length: FILES }, (_, i) => `f${i}.txt`);
  for (const n of names) writeFileSync(join(localDir, 'up', n), `content of ${n}\n`.repeat(100));
  await tr.mkdirp(remoteDir);
  await Promise.all(names.map((n) => tr.put(join(localDir, 'up', n), `${remoteDir}/${n}`)));
  for (const n of names)
    assert.equal(readFileSync(join(landed, n), 'utf8'), `content of ${n}\n`.repeat(100), n);
  await Promise.all(names.map((n) => tr.get(`${remoteDir}/${n}`, join(localDir, 'down', n))));
  for (const n of names)
    assert.equal(readFileSync(join(localDir, 'down', n), 'utf8'), `content of ${n}\n`.repeat(100), n);
}

const sshdServer = (s: SshdHandle, u: SshdOtpUser) => sftpTestServer(s, s.ports.kbd, u);

/** sshd's log lines for user `name`: logins accepted, SFTP subsystems started (one per channel). */
async function sshdCounts(s: SshdHandle, name: string) {
  const log = (await s.logTail(100_000)).split('\n').filter((l) => l.includes(name));
  return {
    logins: log.filter((l) => /Accepted keyboard-interactive/.test(l)).length,
    sftpServers: log.filter((l) => /subsystem 'sftp'/.test(l)).length,
  };
}

describe('SFTP channel pool against OpenSSH sshd', { skip: noSshd ?? false }, () => {
  const t = tempEnv();
  let s: SshdHandle;
  serverForSuite(t, async () => (s = await startSshd()));

  test('by default 4 channels, one login: files in flight spread over 4 sftp-server processes', async () => {
    const u = s.users.totp; // DISALLOW_REUSE: a second login in the same step would need a new code
    const srv = sshdServer(s, u);
    const codes: string[] = [];
    const tr = makeSftp(srv, sftpAccount(srv, s.home(u.name), { name: 'pool4' }), t.env, {}, codes);
    try {
      await tr.connect();
      await roundTrip(tr, join(t.dir, 'pool4'), `${s.home(u.name)}/pool4`, join(s.home(u.name), 'pool4'));
      assert.equal(tr.channelCount, 4);
    } finally {
      await tr.close();
    }
    assert.equal(codes.length, 1, 'one code for the whole run');
    assert.deepEqual(await sshdCounts(s, u.name), { logins: 1, sftpServers: 4 });
  });

  test('OTPBACKUP_SFTP_CHANNELS=1: a single sftp-server', async () => {
    const u = s.users.reuse;
    const srv = sshdServer(s, u);
    const env = { ...t.env, OTPBACKUP_SFTP_CHANNELS: '1' };
    const tr = makeSftp(srv, sftpAccount(srv, s.home(u.name), { name: 'pool1' }), env);
    try {
      await tr.connect();
      await roundTrip(tr, join(t.dir, 'pool1'), `${s.home(u.name)}/pool1`, join(s.home(u.name), 'pool1'));
      assert.equal(tr.channelCount, 1);
    } finally {
      await tr.close();
    }
    assert.deepEqual(await sshdCounts(s, u.name), { logins: 1, sftpServers: 1 });
  });
});

describe('SFTP channel pool against sshd with MaxSessions 1', { skip: noSshd ?? false }, () => {
  const t = tempEnv();
  let s: SshdHandle;
  before(async () => {
    s = await startSshd({ otpConfig: 'MaxSessions 1' });
  });
  after(async () => {
    await s?.stop();
    t.cleanup();
  });

  test('the refused extra channel leaves the transport on one, no error', async () => {
    const u = s.users.totp;
    const srv = sshdServer(s, u);
    const lines: string[] = [];
    const tr = makeSftp(srv, sftpAccount(srv, s.home(u.name), { name: 'max1' }), t.env, {
      log: (l) => lines.push(l),
    });
    try {
      await tr.connect();
      await roundTrip(tr, join(t.dir, 'max1'), `${s.home(u.name)}/max1`, join(s.home(u.name), 'max1'));
      assert.equal(tr.channelCount, 1);
    } finally {
      await tr.close();
    }
    assert.equal(lines.filter((l) => /refused SFTP channel 2/.test(l)).length, 1, lines.join('\n'));
    assert.deepEqual(await sshdCounts(s, u.name), { logins: 1, sftpServers: 1 });
  });
});

describe('SFTP channel pool against ProFTPD mod_sftp', { skip: noProftpd ?? false }, () => {
  const t = tempEnv();
  let p: ProftpdHandle;
  serverForSuite(t, async () => (p = await startProftpd()));

  const server = () => {
    const u = p.users.totp;
    return sftpTestServer(p, p.ports.sftpKbd, u);
  };

  test('one channel by default (mod_sftp serves them all from one process)', async () => {
    const srv = server();
    const tr = makeSftp(srv, sftpAccount(srv, '/', { name: 'proftpd1' }), t.env);
    try {
      await tr.connect();
      await roundTrip(tr, join(t.dir, 'p1'), '/pool1', join(p.home(p.users.totp.name), 'pool1'));
      assert.equal(tr.channelCount, 1);
    } finally {
      await tr.close();
    }
  });

  test('OTPBACKUP_SFTP_CHANNELS=4: 4 channels on one login in the chroot', async () => {
    const u = p.users.totp;
    const srv = server();
    const codes: string[] = [];
    const env = { ...t.env, OTPBACKUP_SFTP_CHANNELS: '4' };
    const tr = makeSftp(srv, sftpAccount(srv, '/', { name: 'proftpd4' }), env, {}, codes);
    try {
      await tr.connect();
      await roundTrip(tr, join(t.dir, 'p4'), '/pool4', join(p.home(u.name), 'pool4'));
      assert.equal(tr.channelCount, 4);
    } finally {
      await tr.close();
    }
    assert.equal(codes.length, 1, 'one code for the whole run');
    assert.equal(await p.failedLogins(), 0);
  });
});
