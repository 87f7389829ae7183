// Several FTP control connections behind one Transport (ftp/pool.ts), against real servers: ProFTPD
// accepts one TOTP code several times in its step, so the pool logs in 4 sessions with one code and
// passes the conformance suite; vsftpd's DISALLOW_REUSE user refuses a reused code, so the pool
// degrades to one connection after exactly one refused login (never retried, never a second).
// Also: MDTM answers fetched in one batch for a listed directory (ftp/mtimes.ts), on vsftpd.
// Skipped locally when the servers are missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { accountStatePath } from '../../src/config/paths.js';
import type { Account } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { DEFAULT_REUSE_CONNECTIONS, FtpPool, ftpConnections } from '../../src/transport/ftp/pool.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { createTransport } from '../../src/transport/index.js';
import {
  type CredentialSource,
  type Credentials,
  createCredentialSource,
} from '../../src/transport/login.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';
import { startVsftpd, type VsftpdHandle, vsftpdUnavailable } from '../servers/vsftpd.js';
import { type SuiteTarget, transportSuite } from './suite.js';

const noProftpd = proftpdUnavailable();
const noVsftpd = vsftpdUnavailable();
if ((noProftpd || noVsftpd) && process.env.CI === 'true')
  throw new Error(`CI=true but a server cannot run: ${noProftpd ?? noVsftpd}`);

const WRONG_SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';
const stateDir = mkdtempSync(join(tmpdir(), 'otpbackup-ftppool-'));
const env = { XDG_STATE_HOME: stateDir, HOME: stateDir };

let proftpdServer: Promise<ProftpdHandle> | undefined;
const proftpd = () => {
  proftpdServer ??= startProftpd();
  return proftpdServer;
};
let vsftpdServer: Promise<VsftpdHandle> | undefined;
const vsftpd = () => {
  vsftpdServer ??= startVsftpd();
  return vsftpdServer;
};
after(async () => {
  if (proftpdServer) await (await proftpdServer).stop();
  if (vsftpdServer) await (await vsftpdServer).stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function account(o: {
  name: string;
  port: number;
  user: string;
  template: string;
  period?: number;
  connections?: number;
  password?: boolean;
}): Account {
  const a: Account = {
    name: o.name,
    protocol: 'ftp',
    host: '127.0.0.1',
    port: o.port,
    user: o.user,
    remoteDir: '/',
    template: o.template,
    otp: {
      type: 'totp',
      secret: 'ref:seed',
      algorithm: 'sha1',
      digits: 6,
      period: o.period ?? 30,
      t0: 0,
      reuse: 'allow',
      marginSeconds: 2,
    },
    trust: {},
    timeout: 10,
  };
  if (o.password) a.password = 'ref:password';
  if (o.connections !== undefined) a.connections = o.connections;
  return a;
}

/** The real credential source, watched: every credential handed to a login is kept in `seen`. */
function source(
  a: Account,
  secrets: { seed: string; password?: string },
  seen: Credentials[],
): CredentialSource {
  const src = createCredentialSource({
    account: a,
    env,
    clock: systemClock,
    getSecret: async (ref) => (ref === 'ref:password' ? (secrets.password ?? '') : secrets.seed),
  });
  return {
    next: async (sig) => {
      const c = await src.next(sig);
      seen.push({ ...c });
      return c;
    },
    failed: (r) => src.failed(r),
    succeeded: () => src.succeeded(),
    unused: (c) => src.unused?.(c) ?? Promise.resolve(),
  };
}

function pool(a: Account, credentials: CredentialSource, log?: (l: string) => void): FtpPool {
  return new FtpPool(
    { account: a, credentials, clock: systemClock, ...(log ? { log } : {}) },
    ftpConnections(a),
  );
}

describe('how many FTP connections', () => {
  const base = account({ name: 'n', port: 21, user: 'u', template: '${TOTP}' });
  test('4 where one code may log in again, 1 where it may not, the setting wins, a prompt is never asked twice', () => {
    assert.equal(ftpConnections(base), DEFAULT_REUSE_CONNECTIONS);
    assert.equal(ftpConnections({ ...base, otp: { ...base.otp, reuse: 'forbid' } }), 1);
    assert.equal(ftpConnections({ ...base, otp: { ...base.otp, reuse: 'forbid' }, connections: 3 }), 3);
    assert.equal(ftpConnections({ ...base, connections: 1 }), 1);
    // FTPS: one connection unless the account asks for more.
    assert.equal(ftpConnections({ ...base, protocol: 'ftps' }), 1);
    assert.equal(ftpConnections({ ...base, protocol: 'ftps-implicit' }), 1);
    assert.equal(ftpConnections({ ...base, protocol: 'ftps', connections: 3 }), 3);
    assert.equal(ftpConnections({ ...base, otp: { ...base.otp, type: 'hotp' } }), 1);
    assert.equal(ftpConnections({ ...base, otp: { ...base.otp, type: 'prompt' }, connections: 4 }), 1);
  });
  test('createTransport builds a pool only for more than one connection', async () => {
    const credentials = source(base, { seed: WRONG_SEED }, []);
    assert.ok((await createTransport(base, { credentials, clock: systemClock })) instanceof FtpPool);
    const one = { ...base, connections: 1 };
    assert.ok((await createTransport(one, { credentials, clock: systemClock })) instanceof FtpTransport);
  });
});

describe('FTP pool against ProFTPD (accepts a code again in its step)', { skip: noProftpd ?? false }, () => {
  transportSuite('ftp/proftpd pool of 4', async (): Promise<SuiteTarget> => {
    const p = await proftpd();
    const user = p.users.totp;
    const base = '/suite-pool';
    const secrets = [user.password, user.secret];
    return {
      remoteBase: base,
      localRoot: () => join(p.home(user.name), base),
      loginDir: { local: p.home(user.name), remote: '/' },
      secrets,
      hashes: ['sha256', 'sha1', 'md5'], // mod_digest, asked through the pool's primary session
      failedLogins: () => p.failedLogins(),
      async makeTransport(opts = {}) {
        const a = opts.wrongCode
          ? account({
              name: 'suite-wrong',
              port: p.ports.ftp,
              user: user.name,
              template: '${OTP}',
              period: 1,
            })
          : account({ name: 'suite-ok', port: p.ports.ftp, user: user.name, template: '${OTP}' });
        return pool(a, source(a, { seed: opts.wrongCode ? WRONG_SEED : user.secret }, []), opts.log);
      },
      async teardown() {},
    };
  });

  test('4 sessions log in with one code in one step; 24 uploads and downloads spread over them', async () => {
    const p = await proftpd();
    const user = p.users.totp;
    const refusedBefore = await p.failedLogins();
    const a = account({ name: 'spread', port: p.ports.ftp, user: user.name, template: '${OTP}' });
    const seen: Credentials[] = [];
    const t = pool(a, source(a, { seed: user.secret }, seen));
    const local = mkdtempSync(join(tmpdir(), 'otpbackup-pool-'));
    try {
      await t.connect();
      await t.whenGrown();
      assert.equal(t.connected, 1, 'one call at a time needs no second login');
      await t.stat('/');
      assert.equal(t.connected, 1);
      // Two calls at once: one waits, and the pool logs in the rest.
      await Promise.all([t.stat('/'), t.stat('/')]);
      await t.whenGrown();
      assert.equal(t.connected, 4);
      // One code was ever computed: the four sessions logged in with it, in its step.
      assert.equal(seen.length, 1, 'one code for all sessions, no login retried');
      assert.equal(t.concurrency, 4);
      await t.mkdirp('/spread');
      const names = Array.from({ length: 24 }, (_, i) => `f${i}.txt`);
      for (const n of names) writeFileSync(join(local, n), `content of ${n}\n`.repeat(50));
      await Promise.all(names.map((n) => t.put(join(local, n), `/spread/${n}`)));
      const listed = (await t.list('/spread')).map((e) => e.name).sort();
      assert.deepEqual(listed, [...names].sort());
      mkdirSync(join(local, 'back'));
      await Promise.all(names.map((n) => t.get(`/spread/${n}`, join(local, 'back', n))));
      for (const n of names)
        assert.equal(readFileSync(join(local, 'back', n), 'utf8'), readFileSync(join(local, n), 'utf8'));
      assert.equal(await p.failedLogins(), refusedBefore);
    } finally {
      await t.close();
      rmSync(local, { recursive: true, force: true });
    }
  });
});

describe('FTP pool against vsftpd refusing a reused code', { skip: noVsftpd ?? false }, () => {
  test('a refused parallel login leaves one connection, counted once and never retried', async () => {
    const v = await vsftpd();
    // DISALLOW_REUSE, but the account claims reuse: allow (a wrong setting the pool must survive).
    const user = v.users.totp;
    const a = account({
      name: 'noreuse',
      port: v.ports.ftp,
      user: user.name,
      template: '${PASSWORD}${TOTP}',
      password: true,
    });
    const refusedBefore = await v.failedLogins();
    const seen: Credentials[] = [];
    const lines: string[] = [];
    const t = pool(a, source(a, { seed: user.secret, password: user.password }, seen), (l) => lines.push(l));
    const local = mkdtempSync(join(tmpdir(), 'otpbackup-pool-'));
    try {
      await t.connect();
      await Promise.all([t.stat('/'), t.stat('/')]);
      await t.whenGrown();
      assert.equal(t.connected, 1, 'only the first login stands');
      assert.equal(seen.length, 1, 'the parallel attempt reused the first code');
      assert.equal(await v.failedLogins(), refusedBefore + 1);
      const state = JSON.parse(readFileSync(accountStatePath(env, 'noreuse'), 'utf8')) as {
        failures?: number[];
      };
      assert.equal(state.failures?.length, 1, 'one refusal on the account’s record');
      assert.ok(
        lines.some((l) => /refused a parallel login/.test(l)),
        lines.join('\n'),
      );
      for (const l of lines) assert.ok(!l.includes(user.password) && !l.includes(user.secret), l);
      // The run goes on, on the one connection, with every call the engine makes in parallel.
      const names = Array.from({ length: 8 }, (_, i) => `g${i}.txt`);
      for (const n of names) writeFileSync(join(local, n), `${n}\n`);
      await t.mkdirp('/degraded');
      await Promise.all(names.map((n) => t.put(join(local, n), `/degraded/${n}`)));
      mkdirSync(join(local, 'back'));
      await Promise.all(names.map((n) => t.get(`/degraded/${n}`, join(local, 'back', n))));
      for (const n of names) assert.equal(readFileSync(join(local, 'back', n), 'utf8'), `${n}\n`);
      assert.equal(await v.failedLogins(), refusedBefore + 1, 'no further refused login');
    } finally {
      await t.close();
      rmSync(local, { recursive: true, force: true });
    }
  });

  test('MDTM for a listed directory goes out in one batch; an upload forgets the answers held', async () => {
    const v = await vsftpd();
    const user = v.users.reuse;
    const a = account({
      name: 'mdtm',
      port: v.ports.ftp,
      user: user.name,
      template: '${PASSWORD}${TOTP}',
      password: true,
      connections: 1,
    });
    const lines: string[] = [];
    const t = new FtpTransport({
      account: a,
      credentials: source(a, { seed: user.secret, password: user.password }, []),
      clock: systemClock,
      log: (l) => lines.push(l),
      trace: true,
    });
    const local = mkdtempSync(join(tmpdir(), 'otpbackup-mdtm-'));
    const mdtmSent = () => lines.filter((l) => /> MDTM /.test(l)).length;
    try {
      await t.connect();
      await t.mkdirp('/mdtm');
      const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt'];
      for (const n of names) {
        writeFileSync(join(local, n), n);
        await t.put(join(local, n), `/mdtm/${n}`);
      }
      const entries = await t.list('/mdtm');
      assert.ok(
        entries.every((e) => e.mtime === undefined),
        'vsftpd LIST has no seconds',
      );
      const first = await t.modTime('/mdtm/a.txt');
      assert.equal(mdtmSent(), 5, 'the first call asks for the whole listing');
      const rest = [];
      for (const n of names.slice(1)) rest.push(await t.modTime(`/mdtm/${n}`));
      assert.equal(mdtmSent(), 5, 'the others are answered from the batch');
      // The same answers as one MDTM each would give.
      const single = new FtpTransport({
        account: a,
        credentials: source(a, { seed: user.secret, password: user.password }, []),
        clock: systemClock,
      });
      await single.connect();
      try {
        assert.deepEqual(
          [first, ...rest].map((d) => d?.getTime()),
          await Promise.all(names.map(async (n) => (await single.modTime(`/mdtm/${n}`))?.getTime())),
        );
      } finally {
        await single.close();
      }
      assert.ok(first instanceof Date);
      // After an upload nothing held is served: the next call asks the server again.
      await t.list('/mdtm');
      await t.modTime('/mdtm/a.txt');
      const before = mdtmSent();
      await new Promise((r) => setTimeout(r, 1100)); // vsftpd's times are to the second
      await t.put(join(local, 'b.txt'), '/mdtm/b.txt');
      const fresh = await t.modTime('/mdtm/b.txt');
      assert.equal(mdtmSent(), before + 1);
      assert.ok(
        fresh && rest[0] && fresh.getTime() > rest[0].getTime(),
        'the new upload time, not the held one',
      );
    } finally {
      await t.close();
      rmSync(local, { recursive: true, force: true });
    }
  });
});
