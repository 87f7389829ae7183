// Network faults over FTP (issue #8): a loopback proxy between client and ProFTPD resets or stalls
// connections at seeded random byte offsets during one `otpbackup run`; passive data connections
// go through the proxy too (it rewrites 227/229 replies), so faults hit transfers as well as control.
// The run completes with zero refused logins and no TOTP step spent twice. See network.ts.
//
// Knobs: FAULT_SCALE=full → 30 faults over 300 files; default → 3 faults over 40 files (each fault
// costs a fresh 30 s TOTP step at the reconnect, since the account forbids reuse). FAULT_SEED=<n>.
import { after, before, test } from 'node:test';
import { type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { proftpdMissing } from './helpers.js';
import { networkSuite } from './network.js';
import { faultSeed, scaled } from './scale.js';

const missing = proftpdMissing();
let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-faults-net-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

test(
  'ftp: resets and stalls at random offsets; the run completes, no refused login, no step reused',
  { skip: missing, timeout: 3_600_000 },
  (t) =>
    networkSuite(
      'ftp',
      server,
      box,
      { faults: scaled(3, 30), files: scaled(40, 300), maxBytes: 256 * 1024 },
      faultSeed(),
      (s) => t.diagnostic(s),
    ),
);
