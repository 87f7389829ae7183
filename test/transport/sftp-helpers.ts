// Shared wiring for the SFTP tests: an Account for a test server, a temp HOME, a transport factory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { type CredentialSource, createCredentialSource } from '../../src/transport/login.js';
import { SftpTransport, type SftpTransportOptions } from '../../src/transport/sftp/transport.js';
import type { SuiteTarget } from './suite.js';

export interface SftpTestServer {
  host?: string;
  port: number;
  user: string;
  password?: string;
  secret: string;
  period?: number;
  hostKeyFingerprint: string;
}

/** The SFTP test server for `user` of a real server handle (ProFTPD, sshd) on `port`. */
export function sftpTestServer(
  server: { sshHostKeyFingerprint: string },
  port: number,
  user: { name: string; password: string; secret: string },
): SftpTestServer {
  return {
    port,
    user: user.name,
    password: user.password,
    secret: user.secret,
    hostKeyFingerprint: server.sshHostKeyFingerprint,
  };
}

/**
 * A describe block's server: started by `start` before its tests (which also assigns it where the
 * tests read it), stopped after them, and the block's temp env removed with it.
 */
export function serverForSuite(
  t: { cleanup(): void },
  start: () => Promise<{ stop(): Promise<void> }>,
): void {
  let server: { stop(): Promise<void> } | undefined;
  before(async () => {
    server = await start();
  });
  after(async () => {
    await server?.stop();
    t.cleanup();
  });
}

/** A temp dir with HOME and XDG dirs inside it, so no test touches the real ones. */
export function tempEnv(): { dir: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'otpbackup-sftp-'));
  const env = {
    HOME: join(dir, 'home'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    PATH: process.env.PATH,
  };
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sftpAccount(srv: SftpTestServer, remoteDir: string, over: Partial<Account> = {}): Account {
  return {
    name: `sftp-${srv.port}`,
    protocol: 'sftp',
    host: srv.host ?? '127.0.0.1',
    port: srv.port,
    user: srv.user,
    remoteDir,
    template: '${PASSWORD}${TOTP}',
    password: srv.password === undefined ? undefined : 'test:password',
    otp: {
      type: 'totp',
      secret: 'test:seed',
      algorithm: 'sha1',
      digits: 6,
      period: srv.period ?? 30,
      t0: 0,
      reuse: 'forbid',
      marginSeconds: 1,
    },
    trust: { hostKeys: [srv.hostKeyFingerprint] },
    timeout: 10,
    ...over,
  };
}

export function makeSftp(
  srv: SftpTestServer,
  account: Account,
  env: NodeJS.ProcessEnv,
  extra: Partial<SftpTransportOptions> = {},
  /** Every code handed out is appended here (for secret-leak checks). */
  codes?: string[],
): SftpTransport {
  const secrets: Record<string, string | undefined> = {
    'test:password': srv.password,
    'test:seed': srv.secret,
  };
  const getSecret = async (ref: string) => {
    const v = secrets[ref];
    if (v === undefined) throw new Error(`no test secret ${ref}`);
    return v;
  };
  const source = createCredentialSource({ account, env, clock: systemClock, getSecret });
  const credentials: CredentialSource = {
    next: async (signal) => {
      const c = await source.next(signal);
      if (c.code) codes?.push(c.code);
      return c;
    },
    failed: (r) => source.failed(r),
    succeeded: () => source.succeeded(),
  };
  return new SftpTransport({ account, credentials, clock: systemClock, env, getSecret, ...extra });
}

const WRONG_SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';

/** A conformance-suite target for an SFTP server whose remote paths map to `localRoot` on disk. */
export function sftpSuiteTarget(opts: {
  srv: SftpTestServer;
  remoteBase: string;
  localRoot: string;
  loginDir: SuiteTarget['loginDir'];
  over?: Partial<Account>;
  failedLogins?: () => Promise<number>;
  loginPauseMs?: number;
  teardown: () => Promise<void>;
  /** SuiteTarget.bigMb. */
  bigMb?: number;
}): SuiteTarget {
  const t = tempEnv();
  const secrets = [opts.srv.password ?? '', opts.srv.secret];
  return {
    remoteBase: opts.remoteBase,
    localRoot: () => opts.localRoot,
    loginDir: opts.loginDir,
    noReuse: true,
    secrets,
    ...(opts.failedLogins ? { failedLogins: opts.failedLogins } : {}),
    // ssh2's client cannot send the check-file extension (ProFTPD's mod_sftp offers it): no hash.
    hashes: [],
    proxy: { port: opts.srv.port, ftp: false },
    ...(opts.loginPauseMs ? { loginPauseMs: opts.loginPauseMs } : {}),
    ...(opts.bigMb ? { bigMb: opts.bigMb } : {}),
    async makeTransport(o = {}) {
      // The wrong-code account has its own state and a 1 s period, so its retry waits at most 1 s.
      const given = o.port ? { ...opts.srv, port: o.port } : opts.srv;
      const srv = o.wrongCode ? { ...given, secret: WRONG_SEED, period: 1 } : given;
      const account = sftpAccount(srv, opts.remoteBase, {
        ...opts.over,
        name: o.wrongCode ? 'sftp-wrong' : 'sftp-ok',
      });
      const extra = {
        ...(o.log ? { log: o.log } : {}),
        ...(o.maxRetries !== undefined ? { maxRetries: o.maxRetries } : {}),
      };
      return makeSftp(srv, account, t.env, extra, secrets);
    },
    async teardown() {
      await opts.teardown();
      t.cleanup();
    },
  };
}
