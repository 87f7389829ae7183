// schedule install --systemd (#17 §2): otpbackup.service names OnFailure=otpbackup-notify@%n.service,
// whose template runs `schedule on-failure`; the three files pass `systemd-analyze verify`. The
// failure report runs the config's hooks.onFailure and the notify failure ping (a loopback HTTP
// server counts them), with systemd's MONITOR_* details; a run that reported its own failure (same
// INVOCATION_ID) is not reported twice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { freePort } from '../servers/free-port.js';

const ANALYZE = '/usr/bin/systemd-analyze';
if (!existsSync(ANALYZE) && process.env.CI === 'true')
  throw new Error('CI=true but systemd-analyze is missing');

let box: Sandbox;
let server: Server;
let pings: { path: string; body: string }[] = [];
let url: string;

before(async () => {
  box = sandbox('otpbackup-onfailure-');
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      pings.push({ path: req.url ?? '', body });
      res.end('OK');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hc`;
});
after(() => {
  server?.close();
  box?.cleanup();
});

async function writeConfig(): Promise<string> {
  const dir = join(box.env.XDG_CONFIG_HOME!, 'otpbackup');
  mkdirSync(dir, { recursive: true });
  const src = join(box.dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'a\n');
  const port = await freePort(); // nothing listens: the job fails with a network error
  const envOut = join(box.dir, 'hook-env.txt');
  writeFileSync(
    join(dir, 'config.yaml'),
    `accounts:
  nas:
    protocol: ftp
    host: 127.0.0.1
    port: ${port}
    user: u
    template: \${TOTP}
    otp:
      secret: env:SEED
jobs:
  docs:
    account: nas
    sources: [${src}]
hooks:
  onFailure: [/bin/sh, -c, 'env > ${envOut}']
notify:
  url: ${url}
`,
  );
  return envOut;
}

describe('schedule install --systemd: OnFailure and the notify template', () => {
  test('three unit files; OnFailure names the template; systemd-analyze verify accepts them', async () => {
    const r = await cli(['schedule', 'install', '--systemd', '--force'], box.env);
    assert.equal(r.status, 0, r.stderr);
    const dir = join(box.env.XDG_CONFIG_HOME!, 'systemd', 'user');
    const service = readFileSync(join(dir, 'otpbackup.service'), 'utf8');
    const notify = readFileSync(join(dir, 'otpbackup-notify@.service'), 'utf8');
    assert.match(service, /^OnFailure=otpbackup-notify@%n\.service$/m);
    assert.match(notify, /^ExecStart=\S+ \S+bin\/otpbackup schedule on-failure %i$/m);
    assert.match(notify, /^Type=oneshot$/m);
    assert.match(notify, /^EnvironmentFile=-\S+systemd\.env$/m, 'the same secrets file as the run');
    assert.match(notify, new RegExp(`^Environment=XDG_CONFIG_HOME=${box.env.XDG_CONFIG_HOME}$`, 'm'));
    if (existsSync(ANALYZE)) {
      const v = spawnSync(
        ANALYZE,
        ['verify', './otpbackup.service', './otpbackup.timer', './otpbackup-notify@.service'],
        {
          cwd: dir,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      assert.equal(v.status, 0, v.stderr);
      assert.equal(v.stderr.trim(), '', 'no warnings');
    }
    const rm = await cli(['schedule', 'remove', '--systemd'], box.env);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal(existsSync(join(dir, 'otpbackup-notify@.service')), false, 'remove takes the template too');
  });

  test('on-failure: runs hooks.onFailure and pings {url}/fail with what systemd said', async () => {
    const envOut = await writeConfig();
    pings = [];
    const r = await cli(['-v', 'schedule', 'on-failure', 'otpbackup.service'], {
      ...box.env,
      MONITOR_SERVICE_RESULT: 'signal',
      MONITOR_EXIT_CODE: 'killed',
      MONITOR_EXIT_STATUS: 'KILL',
      MONITOR_INVOCATION_ID: 'not-a-run-that-reported',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(pings, [
      {
        path: '/hc/fail',
        body: 'otpbackup.service failed (signal, killed KILL); see journalctl --user -u otpbackup.service',
      },
    ]);
    const hookEnv = readFileSync(envOut, 'utf8');
    assert.match(hookEnv, /^OTPBACKUP_OUTCOME=failed$/m);
    assert.match(hookEnv, /^OTPBACKUP_UNIT=otpbackup\.service$/m);
    assert.match(hookEnv, /^OTPBACKUP_ERROR_MESSAGE=otpbackup\.service failed \(signal, killed KILL\)/m);
    assert.match(r.stdout, /ran 1 hook\(s\), sent 1 ping\(s\)/);
  });

  test('a run that reported its own failure is not reported again by the template', async () => {
    await writeConfig();
    pings = [];
    const env = { ...box.env, SEED: 'JBSWY3DPEHPK3PXP', INVOCATION_ID: 'abc123' };
    const run = await cli(['run'], env);
    assert.equal(run.status, 1, run.stderr);
    assert.deepEqual(
      pings.map((p) => p.path),
      ['/hc/start', '/hc/fail'],
      'the run pinged start and fail itself',
    );
    const same = await cli(['schedule', 'on-failure', 'otpbackup.service'], {
      ...box.env,
      MONITOR_INVOCATION_ID: 'abc123',
    });
    assert.equal(same.status, 0, same.stderr);
    assert.equal(pings.length, 2, 'no second failure ping for the same invocation');
    const other = await cli(['schedule', 'on-failure', 'otpbackup.service'], {
      ...box.env,
      MONITOR_INVOCATION_ID: 'another-run',
    });
    assert.equal(other.status, 0, other.stderr);
    assert.equal(pings.length, 3, 'another invocation (one that crashed) is reported');
  });
});
