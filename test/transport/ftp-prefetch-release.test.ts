// The passive port an upload prefetches (EPSV in its commit group) never outlives the session:
// a listing right after the upload uses it, and close() releases one no transfer used. ftp-srv
// (the in-process server) otherwise keeps the abandoned listener and a 30 s timer alive, which held
// `npm run demo` open for 30 s after its last line. Checked by counting what stays open
// (test/handles.ts), not by timing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { createCredentialSource } from '../../src/transport/login.js';
import { trackHandles } from '../handles.js';
import { startInprocessFtp } from '../servers/ftp-inprocess.js';

async function session(steps: (t: FtpTransport, file: string, logs: string[]) => Promise<void>) {
  const tracker = trackHandles();
  const server = await startInprocessFtp({ period: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'otpbackup-prefetch-'));
  const logs: string[] = [];
  try {
    const account: Account = {
      name: 'prefetch',
      protocol: 'ftp',
      host: '127.0.0.1',
      port: server.port,
      user: server.user,
      remoteDir: '/',
      template: '${PASSWORD}${TOTP}',
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
      timeout: 10,
    };
    const map = new Map([
      ['env:PW', server.password],
      ['env:SEED', server.secret],
    ]);
    const credentials = createCredentialSource({
      account,
      env: { XDG_STATE_HOME: dir, HOME: dir },
      clock: systemClock,
      getSecret: async (r) => map.get(r) ?? '',
    });
    const t = new FtpTransport({
      account,
      credentials,
      clock: systemClock,
      log: (l) => logs.push(l),
      trace: true,
    });
    const file = join(dir, 'a.txt');
    writeFileSync(file, 'prefetched\n');
    await t.connect();
    await steps(t, file, logs);
    await t.close();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  // One turn for the sockets the stop closed to report it.
  await new Promise((r) => setImmediate(r));
  const open = tracker.open();
  tracker.stop();
  return { open, logs };
}

test('close() right after an upload releases the prefetched passive port: nothing stays open', async () => {
  const { open, logs } = await session(async (t, file) => {
    await t.put(file, 'a.txt');
  });
  assert.ok(
    logs.some((l) => /EPSV/.test(l)),
    'the upload used EPSV, so its commit group prefetched a port',
  );
  assert.deepEqual(open, [], 'no passive listener or long timer left behind');
});

test('a listing after an upload uses the prefetched port: no EPSV of its own, nothing stays open', async () => {
  const { open } = await session(async (t, file, logs) => {
    await t.put(file, 'a.txt');
    const before = logs.length;
    const names = (await t.list('/')).map((e) => e.name);
    assert.ok(names.includes('a.txt'), names.join(','));
    const listing = logs.slice(before);
    assert.ok(
      listing.some((l) => /data connection to the prefetched passive port/.test(l)),
      listing.join('\n'),
    );
    assert.ok(!listing.some((l) => /^> EPSV/.test(l.trim())), listing.join('\n'));
  });
  assert.deepEqual(open, [], 'no passive listener or long timer left behind');
});
