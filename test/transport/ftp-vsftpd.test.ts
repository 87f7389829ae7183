// The FTP transport against stock vsftpd 3.0.3 (Debian's binary, unpacked by .ci/install-deps.sh) with
// TOTP through PAM: pam_google_authenticator forward_pass, then pam_unix use_first_pass, so PASS is
// password+code (template ${PASSWORD}${TOTP}). The conformance suite over plain FTP with
// DISALLOW_REUSE (the client waits for a fresh step for every login) and over explicit FTPS (vsftpd
// requires the data connections to resume the control connection's TLS session) with reuse allowed.
// Skipped locally when vsftpd or root is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Account, Protocol, TrustSettings } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { type CredentialSource, createCredentialSource } from '../../src/transport/login.js';
import { startVsftpd, type VsftpdHandle, type VsftpdOtpUser } from '../servers/vsftpd.js';
import { quickRetries } from '../support/clock.js';
import { requireTool } from '../support/require.js';
import { type SuiteTarget, transportSuite } from './suite.js';

const missing = requireTool('vsftpd');

const WRONG_SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';
const stateDir = mkdtempSync(join(tmpdir(), 'otpbackup-vsftpdstate-'));
const env = { XDG_STATE_HOME: stateDir, HOME: stateDir };

let server: Promise<VsftpdHandle> | undefined;
const vsftpd = () => {
  server ??= startVsftpd();
  return server;
};
after(async () => {
  if (server) await (await server).stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function vsftpdAccount(s: {
  name: string;
  protocol: Protocol;
  port: number;
  user: VsftpdOtpUser;
  reuse: 'allow' | 'forbid';
  trust?: TrustSettings;
  period?: number;
}): Account {
  return {
    name: s.name,
    protocol: s.protocol,
    host: '127.0.0.1',
    port: s.port,
    user: s.user.name,
    remoteDir: '/',
    template: '${PASSWORD}${TOTP}',
    password: 'ref:password',
    otp: {
      type: 'totp',
      secret: 'ref:seed',
      algorithm: 'sha1',
      digits: 6,
      period: s.period ?? 30,
      t0: 0,
      reuse: s.reuse,
      marginSeconds: 2,
    },
    trust: s.trust ?? {},
    timeout: 10,
  };
}

function transport(
  a: Account,
  secrets: { password: string; seed: string },
  codes: string[],
  log?: (l: string) => void,
  maxRetries?: number,
): FtpTransport {
  const src = createCredentialSource({
    account: a,
    env,
    clock: systemClock,
    getSecret: async (ref) => (ref === 'ref:password' ? secrets.password : secrets.seed),
  });
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

function suiteFor(
  label: string,
  pick: (v: VsftpdHandle) => { protocol: Protocol; port: number; user: VsftpdOtpUser; trust?: TrustSettings },
  reuse: 'allow' | 'forbid',
) {
  transportSuite(`ftp/vsftpd ${label}`, async (): Promise<SuiteTarget> => {
    const v = await vsftpd();
    const picked = pick(v);
    const base = `/suite-${label}`;
    const root = join(v.home(picked.user.name), base);
    const secrets = [picked.user.password, picked.user.secret];
    return {
      remoteBase: base,
      localRoot: () => root,
      loginDir: { local: v.home(picked.user.name), remote: '/' }, // chrooted: the home is "/"
      secrets,
      failedLogins: () => v.failedLogins(),
      hashes: [], // vsftpd has no HASH and no X* digests
      ...(picked.protocol === 'ftp' ? { proxy: { port: picked.port, ftp: true } } : {}),
      ...(reuse === 'forbid' ? { noReuse: true } : {}),
      async makeTransport(opts = {}) {
        const s = { ...picked, ...(opts.port ? { port: opts.port } : {}) };
        // The wrong-code account has its own state and 1 s steps, so its one retry comes quickly.
        const a = opts.wrongCode
          ? vsftpdAccount({ ...s, reuse, name: `${label}-wrong`, period: 1 })
          : vsftpdAccount({ ...s, reuse, name: `${label}-ok` });
        return transport(
          a,
          { password: s.user.password, seed: opts.wrongCode ? WRONG_SEED : s.user.secret },
          secrets,
          opts.log,
          opts.maxRetries,
        );
      },
      async teardown() {},
    };
  });
}

describe('FTP against vsftpd', { skip: missing }, () => {
  suiteFor('ftp-noreuse', (v) => ({ protocol: 'ftp', port: v.ports.ftp, user: v.users.totp }), 'forbid');
  suiteFor(
    'ftps-ca',
    (v) => ({ protocol: 'ftps', port: v.ports.ftps, user: v.users.reuse, trust: { ca: v.caCertPath } }),
    'allow',
  );

  test('small uploads: no MFMT or MLST (vsftpd has neither), no refused command, EPSV prefetch used', async () => {
    const v = await vsftpd();
    const u = v.users.reuse;
    const lines: string[] = [];
    const t = transport(
      vsftpdAccount({ name: 'tail', protocol: 'ftp', port: v.ports.ftp, user: u, reuse: 'allow' }),
      { password: u.password, seed: u.secret },
      [],
      (l) => lines.push(l),
    );
    const local = mkdtempSync(join(tmpdir(), 'otpbackup-vsftpd-tail-'));
    await t.connect();
    try {
      await t.mkdirp('/tail');
      lines.length = 0;
      for (let i = 0; i < 4; i++) {
        const f = join(local, `f${i}`);
        writeFileSync(f, `small file ${i}`);
        await t.put(f, `/tail/f${i}`, { mtime: new Date(1_700_000_000_000) });
      }
      for (let i = 0; i < 4; i++)
        assert.equal(readFileSync(join(v.home(u.name), 'tail', `f${i}`), 'utf8'), `small file ${i}`);
      const sent = lines.filter((l) => / > [A-Z]{3,4}\b/.test(l)).map((l) => /> ([A-Z]+)/.exec(l)?.[1]);
      assert.ok(!sent.includes('MFMT') && !sent.includes('MLST'), sent.join(' '));
      // Per file: STOR, SIZE, RNFR, RNTO and the next file's EPSV; the first file asks its own.
      assert.deepEqual(sent, ['EPSV', ...Array(4).fill(['STOR', 'SIZE', 'RNFR', 'RNTO', 'EPSV']).flat()]);
      assert.equal(lines.filter((l) => /prefetched passive port \d+$/.test(l)).length, 3);
      assert.ok(!lines.some((l) => / < [45]\d\d /.test(l)), lines.join('\n'));
      // Without MFMT the server's own time stands (the upload is still atomic and verified).
      assert.ok(statSync(join(v.home(u.name), 'tail', 'f0')).mtimeMs > 1_700_000_000_000);
    } finally {
      await t.close();
      rmSync(local, { recursive: true, force: true });
    }
  });
});
