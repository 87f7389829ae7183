// Clock faults (issue #8): a skewed local clock (simulated with the test-only hook
// OTPBACKUP_TEST_OTP_CLOCK_OFFSET_MS, which shifts only the clock the codes are computed from) and a
// wrong seed. Each run is refused at most twice by the real ProFTPD (counted in its logs), exits 4,
// and names clock skew as a likely cause; the account's next run with the cause gone succeeds.
//
// Knobs: FAULT_SCALE=full → skews of ±5 and ±60 minutes; default → +10 minutes. (Each refused run
// waits one fresh TOTP step for its second attempt: ~30 s per case; full also checks a second
// refused run and a good run after the clock is fixed.)
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { addAccount, addJob, assertOneLineError, proftpdMissing } from './helpers.js';
import { FULL, scaled } from './scale.js';

const missing = proftpdMissing();
let box: Sandbox;
// One server per case: the cases run side by side and refused logins are counted per server.
const servers: ProftpdHandle[] = [];
async function newServer(): Promise<ProftpdHandle> {
  const s = await startProftpd();
  servers.push(s);
  return s;
}

before(() => {
  if (!missing) box = sandbox('otpbackup-faults-clock-');
});
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  box?.cleanup();
});

async function refusedRun(server: ProftpdHandle, name: string, env: NodeJS.ProcessEnv): Promise<void> {
  const before = await server.failedLogins();
  const r = await cli(['run', '--job', name], env, 180_000);
  const refused = (await server.failedLogins()) - before;
  assert.equal(r.status, 4, `exit 4 (auth refused): ${r.stderr}`);
  assert.ok(refused >= 1 && refused <= 2, `at most 2 refused logins per run (got ${refused})`);
  assertOneLineError(r.stderr);
  assert.match(r.stderr, /clock/i, 'the error names clock skew as a likely cause');
  if (!FULL) return;
  // The account's cap holds across runs too: a second run right away adds at most 2 more.
  const again = await cli(['run', '--job', name], env, 180_000);
  const refused2 = (await server.failedLogins()) - before - refused;
  assert.equal(again.status, 4, again.stderr);
  assert.ok(refused2 <= 2, `at most 2 more refused logins in a second run (got ${refused2})`);
}

function tree(name: string): string {
  const src = join(box.dir, `src-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.txt'), `hello ${name}\n`);
  return src;
}

// Independent accounts, so the cases run side by side (each mostly waits for a TOTP step).
describe('clock faults', { concurrency: true }, () => {
  for (const proto of ['ftp', 'sftp'] as const) {
    for (const minutes of scaled([10], [5, -5, 60, -60])) {
      test(`${proto}: local clock ${minutes} min off: ≤ 2 refused logins, exit 4, clock named`, {
        skip: missing || (proto === 'sftp' && !process.env.FAULT_SCALE && minutes !== 10),
        timeout: 600_000,
      }, async () => {
        const server = await newServer();
        const name = `skew${proto}${minutes < 0 ? 'm' : 'p'}${Math.abs(minutes)}`;
        await addAccount(box, server, name, proto);
        await addJob(box, name, name, tree(name), `clock-${name}`);
        await refusedRun(server, name, {
          ...box.env,
          OTPBACKUP_TEST_OTP_CLOCK_OFFSET_MS: String(minutes * 60_000),
        });
        if (!FULL) return;
        // Clock right again: the run succeeds (the failure pacing of the account lets it through).
        const ok = await cli(['run', '--job', name], box.env, 180_000);
        assert.equal(ok.status, 0, ok.stderr);
      });
    }
  }

  test('ftp: wrong seed: ≤ 2 refused logins per run, exit 4, clock named', {
    skip: missing,
    timeout: 600_000,
  }, async () => {
    const server = await newServer();
    const name = 'wrongseed';
    await addAccount(box, server, name, 'ftp', { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' });
    await addJob(box, name, name, tree(name), `clock-${name}`);
    await refusedRun(server, name, box.env);
  });
});
