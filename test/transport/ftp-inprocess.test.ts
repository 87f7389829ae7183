// The transport conformance suite against the in-process SFTPGo-style server (PASS = password + TOTP,
// replay ban, 5 s steps), plus FTP-specific checks that need no real server.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { systemClock } from '../../src/schedule/clock.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { type CredentialSource, createCredentialSource } from '../../src/transport/login.js';
import { startInprocessFtp } from '../servers/ftp-inprocess.js';
import { quickRetries } from '../support/clock.js';
import { type SuiteTarget, transportSuite } from './suite.js';

const WRONG_SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';

/** Records every code handed out, so the suite can check none of them leaks. */
function recording(src: CredentialSource, codes: string[]): CredentialSource {
  return {
    next: async (signal) => {
      const c = await src.next(signal);
      if (c.code) codes.push(c.code);
      return c;
    },
    failed: (r) => src.failed(r),
    succeeded: () => src.succeeded(),
  };
}

transportSuite('ftp (in-process, password+TOTP, no reuse)', async (): Promise<SuiteTarget> => {
  const server = await startInprocessFtp({ period: 5 });
  const stateDir = mkdtempSync(join(tmpdir(), 'otpbackup-ftpstate-'));
  const env = { XDG_STATE_HOME: stateDir, HOME: stateDir };
  // Codes are appended as they are handed out, so the suite's final check sees all of them.
  const secrets = [server.password, server.secret];
  const base = (name: string, period: number, port = server.port): Account => ({
    name,
    protocol: 'ftp',
    host: '127.0.0.1',
    port,
    user: server.user,
    remoteDir: '/',
    template: '${PASSWORD}${TOTP}',
    password: 'env:PW',
    otp: {
      type: 'totp',
      secret: 'env:SEED',
      algorithm: 'sha1',
      digits: 6,
      period,
      t0: 0,
      reuse: 'forbid',
      marginSeconds: 1,
    },
    trust: {},
    timeout: 10,
  });
  return {
    remoteBase: '/base',
    localRoot: () => join(server.root, 'base'),
    loginDir: { local: server.root, remote: '/' },
    noReuse: true,
    secrets,
    failedLogins: async () => server.failedLogins(),
    hashes: [], // ftp-srv has no HASH
    proxy: { port: server.port, ftp: true },
    async makeTransport(opts = {}) {
      // The wrong-code account has its own state and a 1 s period, so its retry waits at most 1 s.
      const account = opts.wrongCode ? base('wrong', 1) : base('ftp-ok', server.period, opts.port);
      const map = new Map([
        ['env:PW', server.password],
        ['env:SEED', opts.wrongCode ? WRONG_SEED : server.secret],
      ]);
      const credentials = recording(
        createCredentialSource({
          account,
          env,
          clock: systemClock,
          getSecret: async (r) => map.get(r) ?? '',
        }),
        secrets,
      );
      return new FtpTransport({
        account,
        credentials,
        clock: quickRetries, // retry pauses cut (test/support/clock.ts): the tries and the server are real
        log: opts.log,
        trace: true,
        ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
      });
    },
    async teardown() {
      await server.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
});

test('ftp: plain FTP warns once that secrets travel in clear; connection refused is a network error', async () => {
  const server = await startInprocessFtp({ period: 5 });
  const stateDir = mkdtempSync(join(tmpdir(), 'otpbackup-ftpstate-'));
  try {
    const account: Account = {
      name: 'warn',
      protocol: 'ftp',
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      remoteDir: '/',
      template: '${PASSWORD}${OTP}',
      password: 'env:PW',
      otp: {
        type: 'totp',
        secret: 'env:SEED',
        algorithm: 'sha1',
        digits: 6,
        period: 5,
        t0: 0,
        reuse: 'forbid',
        marginSeconds: 1,
      },
      trust: {},
      timeout: 5,
    };
    const map = new Map([
      ['env:PW', server.password],
      ['env:SEED', server.secret],
    ]);
    const env = { XDG_STATE_HOME: stateDir };
    const credentials = createCredentialSource({
      account,
      env,
      clock: systemClock,
      getSecret: async (r) => map.get(r) ?? '',
    });
    const logs: string[] = [];
    const t = new FtpTransport({ account, credentials, clock: systemClock, log: (l) => logs.push(l) });
    await t.connect();
    await t.list('/');
    await t.close();
    assert.equal(logs.filter((l) => /unencrypted/.test(l)).length, 1);

    // Nothing listens on the port any more: a retryable network error, after bounded retries.
    await server.stop();
    const down: Account = { ...account, name: 'down', otp: { ...account.otp, reuse: 'allow' } };
    const noWait = { now: () => Date.now(), sleep: async () => {} };
    const downCreds = createCredentialSource({
      account: down,
      env,
      clock: noWait,
      getSecret: async (r) => map.get(r) ?? '',
    });
    const t2 = new FtpTransport({ account: down, credentials: downCreds, clock: noWait });
    const err = await t2.connect().catch((e: unknown) => e);
    assert.ok(err instanceof OtpBackupError && err.code === 'network' && err.retryable, String(err));
  } finally {
    await server.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
