// FTP/FTPS transport against a real ProFTPD with mod_auth_otp (PASS is the code alone after 331):
// the conformance suite over plain FTP, explicit FTPS (CA file) and implicit FTPS (pinned fingerprint),
// then trust failures, HOTP, SHA-256 and SHA-512. Skipped locally when ProFTPD is missing; a failure
// when CI=true. ProFTPD accepts a TOTP code twice, so the accounts use reuse: 'allow' to keep this fast.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Account, Algorithm, Protocol, TrustSettings } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { systemClock } from '../../src/schedule/clock.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { type CredentialSource, createCredentialSource } from '../../src/transport/login.js';
import { type OtpUser, type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { quickRetries } from '../support/clock.js';
import { requireTool } from '../support/require.js';
import { type SuiteTarget, transportSuite } from './suite.js';

const missing = requireTool('proftpd');

const WRONG_SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';
const stateDir = mkdtempSync(join(tmpdir(), 'otpbackup-ftpstate-'));
const env = { XDG_STATE_HOME: stateDir, HOME: stateDir };

// One server for the whole file, started on first use.
let server: Promise<ProftpdHandle> | undefined;
const proftpd = () => {
  server ??= startProftpd();
  return server;
};
after(async () => {
  if (server) await (await server).stop();
  rmSync(stateDir, { recursive: true, force: true });
});

interface AccountSpec {
  name: string;
  protocol: Protocol;
  port: number;
  user: OtpUser;
  trust?: TrustSettings;
  type?: 'totp' | 'hotp';
  algorithm?: Algorithm;
  counter?: number;
  period?: number;
}

function account(s: AccountSpec): Account {
  return {
    name: s.name,
    protocol: s.protocol,
    host: '127.0.0.1',
    port: s.port,
    user: s.user.name,
    remoteDir: '/',
    template: '${OTP}',
    otp: {
      type: s.type ?? 'totp',
      secret: 'ref:seed',
      algorithm: s.algorithm ?? 'sha1',
      digits: 6,
      period: s.period ?? 30,
      t0: 0,
      counter: s.counter,
      reuse: 'allow',
      marginSeconds: 2,
    },
    trust: s.trust ?? {},
    timeout: 10,
  };
}

function transport(
  a: Account,
  seed: string,
  codes: string[],
  log?: (l: string) => void,
  maxRetries?: number,
): FtpTransport {
  const src = createCredentialSource({ account: a, env, clock: systemClock, getSecret: async () => seed });
  const credentials: CredentialSource = {
    next: async (sig) => {
      const c = await src.next(sig);
      if (c.code) codes.push(c.code);
      return c;
    },
    failed: (r) => src.failed(r),
    succeeded: () => src.succeeded(),
  };
  return new FtpTransport({
    account: a,
    credentials,
    clock: quickRetries, // retry pauses cut (test/support/clock.ts): the tries and the server are real
    log,
    trace: true,
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  });
}

function suiteFor(label: string, spec: (p: ProftpdHandle) => Omit<AccountSpec, 'user' | 'name'>) {
  transportSuite(`ftp/proftpd ${label}`, async (): Promise<SuiteTarget> => {
    const p = await proftpd();
    const user = p.users.totp;
    const base = `/suite-${label}`;
    const root = join(p.home(user.name), base);
    const secrets = [user.password, user.secret];
    return {
      remoteBase: base,
      localRoot: () => root,
      loginDir: { local: p.home(user.name), remote: '/' }, // chrooted: the home is "/"
      secrets,
      failedLogins: () => p.failedLogins(),
      hashes: ['sha256', 'sha1', 'md5'], // mod_digest
      ...(label === 'ftp' ? { proxy: { port: spec(p).port, ftp: true } } : {}),
      async makeTransport(opts = {}) {
        const s = { ...spec(p), ...(opts.port ? { port: opts.port } : {}) };
        // The wrong-code account has its own state and 1 s steps, so its one retry comes quickly.
        const a = opts.wrongCode
          ? account({ ...s, user, name: `${label}-wrong`, period: 1 })
          : account({ ...s, user, name: `${label}-ok` });
        return transport(a, opts.wrongCode ? WRONG_SEED : user.secret, secrets, opts.log, opts.maxRetries);
      },
      async teardown() {},
    };
  });
}

describe('FTP against ProFTPD', { skip: missing }, () => {
  suiteFor('ftp', (p) => ({ protocol: 'ftp', port: p.ports.ftp }));
  suiteFor('ftps-ca', (p) => ({ protocol: 'ftps', port: p.ports.ftps, trust: { ca: p.caCertPath } }));
  suiteFor('ftps-implicit-pinned', (p) => ({
    protocol: 'ftps-implicit',
    port: p.ports.ftpsImplicit ?? 0,
    trust: { tlsFingerprints: [p.tlsCertFingerprint.toLowerCase()] },
  }));

  describe('trust and algorithms', () => {
    const local = mkdtempSync(join(tmpdir(), 'otpbackup-ftp-'));
    after(() => rmSync(local, { recursive: true, force: true }));

    async function roundTrip(t: FtpTransport, p: ProftpdHandle, user: OtpUser, name: string): Promise<void> {
      const f = join(local, name);
      writeFileSync(f, `content of ${name}`);
      await t.connect();
      try {
        await t.mkdirp(`/rt/${name}`);
        await t.put(f, `/rt/${name}/file.txt`);
        assert.equal(
          readFileSync(join(p.home(user.name), 'rt', name, 'file.txt'), 'utf8'),
          `content of ${name}`,
        );
      } finally {
        await t.close();
      }
    }

    test('explicit FTPS without the CA is refused with the fingerprint and how to pin it', async () => {
      const p = await proftpd();
      const before = await p.failedLogins();
      const codes: string[] = [];
      const t = transport(
        account({ name: 'untrusted', protocol: 'ftps', port: p.ports.ftps, user: p.users.totp }),
        p.users.totp.secret,
        codes,
      );
      const err = await t.connect().catch((e: unknown) => e);
      assert.ok(err instanceof OtpBackupError, String(err));
      assert.equal(err.code, 'trust');
      assert.equal(err.exitCode, 1);
      assert.ok(err.message.includes(p.tlsCertFingerprint), err.message);
      assert.match(err.hint ?? '', /tlsFingerprints/);
      assert.equal(await p.failedLogins(), before, 'no login was attempted');
      await t.close();
    });

    test('a pinned fingerprint that does not match is refused before the login', async () => {
      const p = await proftpd();
      const wrongPin = `SHA256:${'AB:'.repeat(31)}AB`;
      const t = transport(
        account({
          name: 'badpin',
          protocol: 'ftps',
          port: p.ports.ftps,
          user: p.users.totp,
          trust: { ca: p.caCertPath, tlsFingerprints: [wrongPin] },
        }),
        p.users.totp.secret,
        [],
      );
      const err = await t.connect().catch((e: unknown) => e);
      assert.ok(err instanceof OtpBackupError && err.code === 'trust-changed', String(err));
      assert.ok(err.message.includes(p.tlsCertFingerprint));
      await t.close();
    });

    test('insecureSkipVerify connects, and warns', async () => {
      const p = await proftpd();
      const logs: string[] = [];
      const t = transport(
        account({
          name: 'insecure',
          protocol: 'ftps',
          port: p.ports.ftps,
          user: p.users.totp,
          trust: { insecureSkipVerify: true },
        }),
        p.users.totp.secret,
        [],
        (l) => logs.push(l),
      );
      await roundTrip(t, p, p.users.totp, 'insecure');
      assert.ok(logs.some((l) => /verification is OFF/.test(l)));
    });

    test('uploads and a listing use the EPSV sent with the previous commit; other operations drop it (FTP, FTPS)', async () => {
      const p = await proftpd();
      const user = p.users.totp;
      for (const [label, protocol, port, trust] of [
        ['ftp', 'ftp', p.ports.ftp, {}],
        ['ftps', 'ftps', p.ports.ftps, { ca: p.caCertPath }],
      ] as const) {
        const lines: string[] = [];
        const t = transport(
          account({ name: `pre-${label}`, protocol, port, user, trust }),
          user.secret,
          [],
          (l) => lines.push(l),
        );
        const dir = `/prefetch-${label}`;
        await t.connect();
        try {
          await t.mkdirp(dir);
          const put = async (i: number) => {
            const f = join(local, `pre-${label}-${i}`);
            writeFileSync(f, `file ${i} over ${label}`);
            await t.put(f, `${dir}/f${i}`, { mtime: new Date(1_700_000_000_000) });
          };
          for (let i = 0; i < 4; i++) await put(i);
          const used = () => lines.filter((l) => /prefetched passive port \d+$/.test(l)).length;
          assert.equal(used(), 3, 'files 2-4 use the port asked for by the commit before them');
          // A listing right after an upload takes its prefetched port; the port is then spent.
          assert.equal((await t.list(dir)).length, 4);
          assert.equal(used(), 4, 'the LIST used the port asked for by the last commit');
          await put(4);
          assert.equal(used(), 4, 'no prefetched port after a listing');
          await t.stat(`${dir}/f0`); // no data connection: the port asked for is dropped unused
          await put(5);
          assert.equal(used(), 4, 'no prefetched port after another operation');
          await put(6);
          assert.equal(used(), 5);
          for (let i = 0; i < 7; i++) {
            assert.equal(
              readFileSync(join(p.home(user.name), dir, `f${i}`), 'utf8'),
              `file ${i} over ${label}`,
            );
          }
          assert.ok(!lines.some((l) => /refused; asking again/.test(l)), lines.join('\n'));
        } finally {
          await t.close();
        }
      }
    });

    test('HOTP: the counter advances on both sides, two logins in a row', async () => {
      const p = await proftpd();
      const u = p.users.hotp;
      const a = account({
        name: 'hotp',
        protocol: 'ftp',
        port: p.ports.hotp,
        user: u,
        type: 'hotp',
        counter: u.counter,
      });
      await roundTrip(transport(a, u.secret, []), p, u, 'hotp1');
      await roundTrip(transport(a, u.secret, []), p, u, 'hotp2');
      const state = JSON.parse(readFileSync(join(stateDir, 'otpbackup', 'accounts', 'hotp.json'), 'utf8'));
      assert.equal(state.counter, u.counter + 2);
      assert.equal(await p.hotpCounter(), u.counter + 2);
    });

    test('TOTP with SHA-256 and SHA-512', async () => {
      const p = await proftpd();
      for (const [algorithm, port, u] of [
        ['sha256', p.ports.sha256, p.users.sha256],
        ['sha512', p.ports.sha512, p.users.sha512],
      ] as const) {
        const before = await p.failedLogins();
        await roundTrip(
          transport(account({ name: algorithm, protocol: 'ftp', port, user: u, algorithm }), u.secret, []),
          p,
          u,
          algorithm,
        );
        assert.equal(await p.failedLogins(), before, `${algorithm}: no refused login`);
      }
    });
  });
});
