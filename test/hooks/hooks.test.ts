// Hooks and healthchecks-style pings around a job: runHook kills the whole process group on its
// timeout and stops waiting on pipes a grandchild holds; no secret reaches a hook's environment;
// pings reach a real loopback HTTP server and never fail or hang the backup when it misbehaves.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { runDue } from '../../src/backup/run-due.js';
import type { Account, Config, Job } from '../../src/config/types.js';
import { hookEnv } from '../../src/hooks/child-env.js';
import { runHook } from '../../src/hooks/hooks.js';
import { ping } from '../../src/hooks/notify.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { clearSecretsForTests, registerSecret } from '../../src/secrets/redact.js';
import { LocalTransport } from '../backup/local-transport.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'otpb-hooks-'));
});
afterEach(() => {
  clearSecretsForTests();
  rmSync(dir, { recursive: true, force: true });
});

describe('runHook', () => {
  it('exit 0 is success; a failure names the program, the exit code and the last stderr line', async () => {
    assert.equal(await runHook(['true'], { env: process.env }), undefined);
    const why = await runHook(['sh', '-c', 'echo first >&2; echo "disk not mounted" >&2; exit 3'], {
      env: process.env,
    });
    assert.equal(why, 'sh failed (exit code 3): disk not mounted');
    assert.equal(await runHook(['/no/such/hook'], { env: process.env }), '/no/such/hook not found');
  });

  it('on timeout the whole process group is killed, and a grandchild holding stderr does not hold us', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const t0 = process.hrtime.bigint();
    const why = await runHook(['sh', '-c', `sleep 40 & echo $! > ${pidFile}; wait`], {
      env: process.env,
      timeoutS: 1,
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    assert.match(why ?? '', /did not finish within 1 s/);
    // SIGTERM, then SIGKILL after a 2 s grace: bounded well below the grandchild's 40 s.
    assert.ok(secs < 15, `took ${secs} s`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(pid), false, 'the grandchild was killed too');
  });

  it('a hook that exits while its background child keeps stderr open returns at once', async () => {
    const pidFile = join(dir, 'bg.pid');
    const t0 = process.hrtime.bigint();
    const why = await runHook(['sh', '-c', `sleep 30 >/dev/null 2>&2 & echo $! > ${pidFile}; exit 0`], {
      env: process.env,
      timeoutS: 20,
    });
    assert.equal(why, undefined);
    assert.ok(Number(process.hrtime.bigint() - t0) / 1e9 < 10, 'did not wait for the background child');
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  });
});

describe('hookEnv', () => {
  it('drops otpbackup secrets, variables named by env: references and any value that is a secret', () => {
    registerSecret('hunter2-registered');
    const cfg = {
      path: '/c',
      jobs: {},
      accounts: { a: { password: 'env:NAS_PW', otp: { secret: 'env:NAS_SEED' } } },
    } as unknown as Config;
    const env = hookEnv(
      {
        PATH: '/usr/bin',
        HOME: '/home/u',
        OTPBACKUP_PASSPHRASE: 'p',
        OTPBACKUP_PASSWORD: 'p',
        OTPBACKUP_TOTP_SECRET: 's',
        NAS_PW: 'x',
        NAS_SEED: 'y',
        INNOCENT: 'hunter2-registered',
      },
      cfg,
      { OTPBACKUP_JOB: 'docs' },
    );
    assert.deepEqual(env, { PATH: '/usr/bin', HOME: '/home/u', OTPBACKUP_JOB: 'docs' });
  });
});

/** A loopback HTTP server recording requests; `status` decides the replies, `hang` never answers. */
function recorder() {
  const seen: { path: string; body: string }[] = [];
  const state = { status: 200, hang: false };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ path: req.url ?? '', body });
      if (state.hang) return;
      res.statusCode = state.status;
      res.end('ok');
    });
  });
  return {
    seen,
    state,
    start: () =>
      new Promise<string>((r) =>
        server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('ping', () => {
  const rec = recorder();
  let base: string;
  before(async () => {
    base = await rec.start();
  });
  after(() => rec.stop());

  it('start, success and failure go to {url}/start, {url} and {url}/fail with the body', async () => {
    rec.seen.length = 0;
    const t = { url: `${base}/ping/abc` };
    assert.equal(await ping(t, 'start'), undefined);
    assert.equal(await ping(t, 'success', '3 file(s)'), undefined);
    assert.equal(await ping(t, 'failure', 'login refused'), undefined);
    assert.deepEqual(rec.seen, [
      { path: '/ping/abc/start', body: '' },
      { path: '/ping/abc', body: '3 file(s)' },
      { path: '/ping/abc/fail', body: 'login refused' },
    ]);
  });

  it('a 500 is retried twice, then reported, never thrown; a 404 is not retried', async () => {
    rec.seen.length = 0;
    rec.state.status = 500;
    const noSleep = async () => {};
    assert.match((await ping({ url: base }, 'success', '', noSleep)) ?? '', /HTTP 500/);
    assert.equal(rec.seen.length, 3);
    rec.seen.length = 0;
    rec.state.status = 404;
    assert.match((await ping({ url: base }, 'success', '', noSleep)) ?? '', /HTTP 404/);
    assert.equal(rec.seen.length, 1);
    rec.state.status = 200;
  });

  it('a server that never answers costs at most the timeout per attempt', async () => {
    rec.state.hang = true;
    try {
      const t0 = process.hrtime.bigint();
      const p = await ping({ url: base, timeoutS: 1 }, 'start', '', async () => {});
      assert.match(p ?? '', /timed out/);
      assert.ok(Number(process.hrtime.bigint() - t0) / 1e9 < 10);
    } finally {
      rec.state.hang = false;
    }
  });
});

describe('runDue with hooks and notify', () => {
  const rec = recorder();
  let base: string;
  before(async () => {
    base = await rec.start();
  });
  after(() => rec.stop());

  function setup(hooks: Job['hooks'], notify?: Config['notify']) {
    const env = {
      HOME: dir,
      XDG_STATE_HOME: join(dir, 'state'),
      PATH: process.env.PATH ?? '/usr/bin',
      OTPBACKUP_PASSPHRASE: 'vault-pass-123',
    };
    const src = join(dir, 'src');
    mkdirSync(src, { recursive: true });
    mkdirSync(join(dir, 'remote'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha');
    const account: Account = {
      name: 'a',
      protocol: 'sftp',
      host: '127.0.0.1',
      port: 22,
      user: 'u',
      remoteDir: '/a',
      template: '${TOTP}',
      otp: {
        type: 'totp',
        algorithm: 'sha1',
        digits: 6,
        period: 30,
        t0: 0,
        reuse: 'forbid',
        marginSeconds: 3,
      },
      trust: {},
    };
    const job: Job = {
      name: 'docs',
      account: 'a',
      sources: [src],
      remoteDir: 'docs',
      schedule: '0 3 * * *',
      symlinks: 'skip',
      mode: 'mirror',
      delete: true,
      checksum: false,
      ...(hooks ? { hooks } : {}),
    };
    const config: Config = {
      path: join(dir, 'c.yaml'),
      accounts: { a: account },
      jobs: { docs: job },
      ...(notify ? { notify } : {}),
    };
    let logins = 0;
    const connect = async () => {
      logins++;
      return new LocalTransport(join(dir, 'remote'));
    };
    return { env, config, connect, logins: () => logins };
  }

  it('before, after with the result in OTPBACKUP_* and no secret; success ping', async () => {
    rec.seen.length = 0;
    const out = join(dir, 'hook.env');
    const s = setup(
      { before: ['sh', '-c', `env > ${out}.before`], after: ['sh', '-c', `env > ${out}`] },
      { url: `${base}/hc` },
    );
    const warnings: string[] = [];
    const r = await runDue(s.config, {
      env: s.env,
      clock: new FakeClock(Date.UTC(2026, 4, 1)),
      connect: s.connect,
      job: 'docs',
      warn: (l) => warnings.push(l),
    });
    assert.equal(r.exitCode, 0);
    const text = readFileSync(out, 'utf8');
    assert.match(text, /^OTPBACKUP_JOB=docs$/m);
    assert.match(text, /^OTPBACKUP_OUTCOME=ok$/m);
    assert.match(text, /^OTPBACKUP_FILES=1$/m);
    assert.match(text, /^OTPBACKUP_HOOK=after$/m);
    assert.ok(
      !text.includes('vault-pass-123') && !text.includes('OTPBACKUP_PASSPHRASE'),
      'no secret in the hook env',
    );
    assert.ok(existsSync(`${out}.before`));
    assert.deepEqual(
      rec.seen.map((x) => x.path),
      ['/hc/start', '/hc'],
    );
    assert.deepEqual(warnings, []);
  });

  it('a failing before hook skips the job with exit 1 and no login; onFailure and the fail ping run', async () => {
    rec.seen.length = 0;
    const out = join(dir, 'fail.env');
    const s = setup(
      { before: ['sh', '-c', 'echo "nas not mounted" >&2; exit 1'], onFailure: ['sh', '-c', `env > ${out}`] },
      { url: `${base}/hc` },
    );
    const r = await runDue(s.config, {
      env: s.env,
      clock: new FakeClock(Date.UTC(2026, 4, 1)),
      connect: s.connect,
      job: 'docs',
    });
    assert.equal(r.exitCode, 1);
    assert.equal(r.jobs[0]?.outcome, 'failed');
    assert.match(
      r.jobs[0]?.error?.message ?? '',
      /hooks\.before: sh failed \(exit code 1\): nas not mounted; the job was skipped/,
    );
    assert.equal(s.logins(), 0, 'no login for a skipped job');
    assert.match(readFileSync(out, 'utf8'), /^OTPBACKUP_ERROR_CODE=hook$/m);
    assert.deepEqual(
      rec.seen.map((x) => x.path),
      ['/hc/fail'],
    );
    assert.match(rec.seen[0]?.body ?? '', /nas not mounted/);
  });

  it('a notify server that is down never fails the backup', async () => {
    const s = setup(undefined, { url: 'http://127.0.0.1:9/hc', timeout: 1 });
    const warnings: string[] = [];
    const r = await runDue(s.config, {
      env: s.env,
      clock: new FakeClock(Date.UTC(2026, 4, 1)),
      connect: s.connect,
      job: 'docs',
      warn: (l) => warnings.push(l),
    });
    assert.equal(r.exitCode, 0);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /notify start ping failed/);
  });
});

describe('config: hooks and notify', () => {
  it('parse per job and globally; a bad URL or an empty hook names its field', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    const base = `accounts:\n  a: { protocol: sftp, host: h, user: u, otp: { secret: env:S } }\n`;
    const ok = parseConfig(
      `${base}hooks: { onFailure: [notify-send, failed], timeout: 30 }\nnotify: { url: env:HC_URL }\njobs:\n  d:\n    account: a\n    sources: [/tmp]\n    hooks: { before: "mount /mnt/nas" }\n    notify: { url: "https://hc-ping.com/x", failure: "{url}/fail" }\n`,
      '/c.yaml',
    );
    assert.deepEqual(ok.hooks, { onFailure: ['notify-send', 'failed'], timeout: 30 });
    assert.deepEqual(ok.jobs.d?.hooks, { before: ['mount', '/mnt/nas'] });
    assert.equal(ok.notify?.url, 'env:HC_URL');
    assert.throws(
      () =>
        parseConfig(`${base}notify: { url: "hc-ping.com/x" }\nhooks: { before: [] }\njobs: {}\n`, '/c.yaml'),
      (e: Error) =>
        /notify\.url: expected an http\(s\):\/\/ URL/.test(e.message) &&
        /hooks\.before: must not be empty/.test(e.message),
    );
  });
});
