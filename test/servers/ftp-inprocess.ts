// An in-process, SFTPGo-style FTP server for tests (ftp-srv on 127.0.0.1): PASS must be the password
// immediately followed by the current TOTP code (previous step also accepted, as most servers do);
// a code that logged in successfully is refused for `banMs` (replay ban). Codes are checked with the
// independent `otpauth` package, so the client's OTP core is verified against another implementation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FtpSrv } from 'ftp-srv';
import * as OTPAuth from 'otpauth';
import { freePort } from './free-port.js';

export interface InprocessFtpOptions {
  user?: string;
  password?: string;
  /** Base32 seed. */
  secret?: string;
  /** TOTP period in seconds (short, so tests need not wait 30 s for a fresh step). */
  period?: number;
  /** How long a used code stays refused. */
  banMs?: number;
  /** Explicit FTPS (AUTH TLS) with this key and certificate (PEM). */
  tls?: { key: string; cert: string };
}

export interface InprocessFtpHandle {
  port: number;
  /** Server-side directory on local disk that is the user's "/". */
  root: string;
  user: string;
  password: string;
  secret: string;
  period: number;
  /** Refused logins so far. */
  failedLogins(): number;
  successfulLogins(): number;
  stop(): Promise<void>;
}

// ftp-srv wants a bunyan-style logger; its default one prints JSON to stdout.
const quietLog = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
  child() {
    return quietLog;
  },
};

export async function startInprocessFtp(opts: InprocessFtpOptions = {}): Promise<InprocessFtpHandle> {
  const user = opts.user ?? 'alice';
  const password = opts.password ?? 'Pa55-word';
  const secret = opts.secret ?? 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  const period = opts.period ?? 5;
  const banMs = opts.banMs ?? 120_000;
  const root = mkdtempSync(join(tmpdir(), 'otpbackup-ftpsrv-'));
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    period,
    digits: 6,
    algorithm: 'SHA1',
  });
  const banned = new Map<string, number>();
  let failed = 0;
  let ok = 0;

  const port = await freePort();
  const pasvMin = 40000 + Math.floor(Math.random() * 20000);
  const server = new FtpSrv({
    url: `ftp://127.0.0.1:${port}`,
    pasv_url: '127.0.0.1',
    pasv_min: pasvMin,
    pasv_max: pasvMin + 200,
    anonymous: false,
    greeting: 'otpbackup test server',
    tls: opts.tls ?? false,
    log: quietLog,
  });

  server.on('login', ({ username, password: pass }, resolve, reject) => {
    const now = Date.now();
    for (const [c, until] of banned) if (until <= now) banned.delete(c);
    const code = pass.slice(-6);
    const good =
      username === user &&
      pass.length === password.length + 6 &&
      pass.slice(0, -6) === password &&
      totp.validate({ token: code, timestamp: now, window: 1 }) !== null &&
      // Only the current and the previous step: a code from the future is refused too.
      (totp.generate({ timestamp: now }) === code ||
        totp.generate({ timestamp: now - period * 1000 }) === code) &&
      !banned.has(code);
    if (!good) {
      failed++;
      return reject(new Error('Login incorrect.'));
    }
    banned.set(code, now + banMs);
    ok++;
    resolve({ root });
  });

  await server.listen();
  return {
    port,
    root,
    user,
    password,
    secret,
    period,
    failedLogins: () => failed,
    successfulLogins: () => ok,
    async stop() {
      await server.close().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
