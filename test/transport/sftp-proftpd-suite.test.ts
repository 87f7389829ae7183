// The transport conformance suite over SFTP against a real ProFTPD (mod_sftp + mod_auth_otp,
// keyboard-interactive "Verification code: "). Its TOTP period is 30 s, so the "two logins in a row"
// case waits for fresh steps; kept in its own file so it runs beside sftp-proftpd.test.ts.
import { join } from 'node:path';
import { startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';
import { sftpSuiteTarget } from './sftp-helpers.js';
import { transportSuite } from './suite.js';

const missing = requireTool('proftpd');

if (!missing) {
  transportSuite('sftp (ProFTPD mod_sftp + mod_auth_otp, keyboard-interactive)', async () => {
    const p = await startProftpd();
    const u = p.users.totp;
    return sftpSuiteTarget({
      srv: {
        port: p.ports.sftpKbd,
        user: u.name,
        password: u.password,
        secret: u.secret,
        hostKeyFingerprint: p.sshHostKeyFingerprint,
      },
      remoteBase: '/base', // users are chrooted to their home
      localRoot: join(p.home(u.name), 'base'),
      loginDir: { local: p.home(u.name), remote: '/' },
      failedLogins: () => p.failedLogins(),
      teardown: () => p.stop(),
      // The suite's one 100 MiB case: the SFTP read loop (64 reads in flight, EOF probe) over a
      // real server; the other targets use 16 MiB.
      bigMb: 100,
    });
  });
}
