// Failures a person sees first (#13.4), through the built CLI as users run it: a closed port, the
// wrong protocol on a port (fake listeners that count connections, and the real ProFTPD), a listener
// that never speaks, ftpes:// to a server without TLS, and pam_oath's prompt that wants password+code.
// Each asserts the exit code, the message, and that nothing waited for a TOTP step: the attempts a
// listener saw are counted and the account's spent-step record is checked, no wall-clock budgets.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { accountStatePath } from '../../src/config/paths.js';
import { totpStep } from '../../src/otp/index.js';
import type { AccountLoginState } from '../../src/transport/login.js';
import { type CliRun, cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { freePort } from '../servers/free-port.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshServerHandle, startSshServer } from '../servers/ssh-inprocess.js';
import { requireTool } from '../support/require.js';

const SEED = 'JBSWY3DPEHPK3PXP';
let box: Sandbox;
let file: string;

before(() => {
  box = sandbox('otpbackup-reach-');
  file = join(box.dir, 'f.txt');
  writeFileSync(file, 'hello\n');
});
after(() => box?.cleanup());

async function upload(url: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const t0 = Date.now();
  const r = await cli(['upload', file, '--to', url, '-vv', ...extra], {
    ...box.env,
    OTPBACKUP_TOTP_SECRET: SEED,
    ...env,
  });
  return { ...r, ms: Date.now() - t0 };
}

/** The login state the CLI keeps for `upload --to` (no lastStep: no code was spent). */
function loginState(user: string, port: number): AccountLoginState | undefined {
  const p = accountStatePath(box.env, `upload-${user}@127.0.0.1:${port}`);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as AccountLoginState) : undefined;
}

/** A listener that counts connections and says `banner` (or nothing) on each. */
async function listener(banner: string | undefined): Promise<{ port: number; conns: number; close(): void }> {
  const socks = new Set<Socket>();
  const h = { port: 0, conns: 0, close: () => {} };
  const server: Server = createServer((s) => {
    h.conns++;
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    if (banner) s.write(banner);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.port = (server.address() as { port: number }).port;
  h.close = () => {
    for (const s of socks) s.destroy();
    server.close();
  };
  return h;
}

function noStepWait(r: CliRun) {
  // Waiting out the last seconds of the current step before the first attempt is the login
  // discipline (and depends on when the test runs); waiting for a fresh step because a step
  // counts as spent, after an attempt that sent no code, is the fault.
  assert.doesNotMatch(r.stderr, /waiting \d+ s for a fresh TOTP step/, 'no wait for a fresh TOTP step');
  assert.doesNotMatch(r.stderr, /it is retried/);
}

describe('unreachable servers fail fast with an honest message', () => {
  test('a closed port: connection refused, tried twice, no step spent or waited for', async () => {
    const port = await freePort();
    for (const scheme of ['ftp', 'sftp']) {
      const r = await upload(
        `${scheme}://u@127.0.0.1:${port}/`,
        scheme === 'sftp' ? ['--host-key', 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] : [],
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /127\.0\.0\.1:\d+: connection refused \(nothing listens on that port\)/);
      assert.match(r.stderr, /hint: is the server running, and is the port right/);
      noStepWait(r);
      assert.equal(loginState('u', port)?.lastStep, undefined, 'the unsent code’s step was given back');
      // Generous (76-128 s before): one retry after 1 s.
      assert.ok(r.ms < 30_000, `${scheme}: took ${r.ms} ms`);
    }
  });

  test('ftp:// to an SSH banner: named at once, one connection', async () => {
    const l = await listener('SSH-2.0-OpenSSH_9.6\r\n');
    try {
      const r = await upload(`ftp://u@127.0.0.1:${l.port}/`);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /speaks SSH \(it said "SSH-2\.0-OpenSSH_9\.6"\), not FTP/);
      assert.match(r.stderr, /hint: use sftp:\/\//);
      assert.equal(l.conns, 1, 'not retried');
      noStepWait(r);
      assert.equal(loginState('u', l.port)?.lastStep, undefined);
    } finally {
      l.close();
    }
  });

  test('sftp:// to an FTP greeting: named at once, one connection', async () => {
    const l = await listener('220 FTP server ready\r\n');
    try {
      const r = await upload(`sftp://u@127.0.0.1:${l.port}/`, [
        '--host-key',
        'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /speaks FTP \(it said "220 FTP server ready"\), not SSH/);
      assert.equal(l.conns, 1, 'not retried');
      noStepWait(r);
    } finally {
      l.close();
    }
  });

  test('a listener that accepts and never speaks: the greeting timeout, not retried', async () => {
    const l = await listener(undefined);
    try {
      const r = await upload(`ftp://u@127.0.0.1:${l.port}/`);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /connected, but the server sent no FTP greeting within 10 s/);
      assert.match(r.stderr, /hint: is this the FTP port\?/);
      assert.equal(l.conns, 1, 'a silent server is not retried');
      noStepWait(r);
      assert.equal(loginState('u', l.port)?.lastStep, undefined);
    } finally {
      l.close();
    }
  });
});

const missing = requireTool('proftpd');

describe('the wrong protocol on a real server (ProFTPD)', { skip: missing }, () => {
  let server: ProftpdHandle;
  before(async () => {
    server = await startProftpd();
  });
  after(async () => server?.stop());

  test('ftp:// to the SFTP port and sftp:// to the FTP port', async () => {
    const u = server.users.totp.name;
    const ftp = await upload(`ftp://${u}@127.0.0.1:${server.ports.sftpKbd}/`);
    assert.equal(ftp.status, 2, ftp.stderr);
    assert.match(ftp.stderr, /speaks SSH \(it said "SSH-2\.0-[^"]*"\), not FTP: this is an SSH\/SFTP port/);
    noStepWait(ftp);
    const sftp = await upload(`sftp://${u}@127.0.0.1:${server.ports.ftp}/`, [
      '--host-key',
      'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]);
    assert.equal(sftp.status, 2, sftp.stderr);
    assert.match(sftp.stderr, /speaks FTP \(it said "220 [^"]*"\), not SSH: this is an FTP port/);
    noStepWait(sftp);
    assert.equal(await server.failedLogins(), 0);
  });

  test('ftpes:// to a server without TLS: "does not offer TLS", exit 1, no login', async () => {
    const p = server.users.plain;
    const r = await upload(`ftpes://${p.name}@127.0.0.1:${server.ports.ftpPlain}/`, [], {
      OTPBACKUP_PASSWORD: p.password,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /does not offer TLS: it answered AUTH TLS with "5\d\d/);
    assert.doesNotMatch(r.stderr, /refused the login|skewed clock/);
    assert.doesNotMatch(r.stderr, /> PASS|> USER/, 'nothing of the login was sent');
    noStepWait(r);
    assert.equal(loginState(p.name, server.ports.ftpPlain)?.lastStep, undefined);
    // account add's certificate fetch says the same.
    const add = await cli(
      [
        'account',
        'add',
        'notls',
        '--url',
        `ftpes://${p.name}@127.0.0.1:${server.ports.ftpPlain}/`,
        '--totp-secret-env',
        'NOTLS_SEED',
        '--store',
        'vault',
      ],
      { ...box.env, NOTLS_SEED: SEED },
    );
    assert.equal(add.status, 1, add.stderr);
    assert.match(add.stderr, /does not offer TLS: it answered AUTH TLS with "5\d\d/);
    assert.equal(await server.failedLogins(), 0);
  });
});

describe('pam_oath: a code-only answer refused gets the combined-prompt hint', {
  skip: requireTool('sftp-server'),
}, () => {
  let ssh: SshServerHandle;
  before(async () => {
    const root = join(box.dir, 'oath-root');
    mkdirSync(root, { recursive: true });
    ssh = await startSshServer({ style: 'pam', root, oathPrompt: true, secret: SEED });
  });
  after(async () => ssh?.stop());

  test('the hint quotes the prompt and gives the --prompt rule, which then works', async () => {
    const url = `sftp://${ssh.user}@127.0.0.1:${ssh.port}${join(box.dir, 'oath-root')}`;
    const args = ['--host-key', ssh.hostKeyFingerprint, '--period', String(ssh.period)];
    const env = { OTPBACKUP_PASSWORD: ssh.password };
    const r = await upload(url, args, env);
    assert.equal(r.status, 4, r.stderr);
    assert.match(
      r.stderr,
      /hint: the server asked "One-time password \(OATH\) for `backup': " and got the one-time code alone/,
    );
    const rule = /--prompt '([^']+)'/.exec(r.stderr)?.[1];
    assert.equal(rule, 'One-time password \\(OATH\\) for=${PASSWORD}${TOTP}');
    const ok = await upload(url, [...args, '--prompt', rule!], env);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ssh.logins, 1);
  });

  test('a wait for a fresh step says how long and why (-v), with the reuse hint when known', async () => {
    const acct = `upload-${ssh.user}@127.0.0.1:${ssh.port}`;
    const p = accountStatePath(box.env, acct);
    // The step after next is already spent: the login must wait two to three periods (10-15 s as the
    // test starts it), so even a CLI that takes seconds to start on a busy machine still has more
    // than the 2 s that make a wait worth a notice (one period ahead failed at a load of 20).
    const spent = totpStep(Date.now(), ssh.period) + 2;
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, JSON.stringify({ lastStep: spent, reuseAccepted: Date.now() - 60_000 }));
    const url = `sftp://${ssh.user}@127.0.0.1:${ssh.port}${join(box.dir, 'oath-root')}`;
    const r = await cli(
      [
        'upload',
        file,
        '--to',
        url,
        '-v',
        '--host-key',
        ssh.hostKeyFingerprint,
        '--period',
        String(ssh.period),
        '--prompt',
        'One-time password=${PASSWORD}${TOTP}',
      ],
      { ...box.env, OTPBACKUP_TOTP_SECRET: SEED, OTPBACKUP_PASSWORD: ssh.password },
    );
    assert.equal(r.status, 0, r.stderr);
    // A first wait for the *next* step (the current one ends too soon) may come before it.
    const lines = r.stderr.split('\n').filter((l) => /waiting \d+ s for a fresh TOTP step/.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(
      lines[0]!,
      /^account upload-\S+: waiting ([3-9]|1[0-5]) s for a fresh TOTP step: this step's code was already used.*accepted a reused code before, so --otp-reuse allow skips this wait$/,
    );
  });
  test('account test: every prompt is printed on a failed login; the wait is reported apart', async () => {
    const cfg = join(box.dir, 'oath-config.yaml');
    writeFileSync(
      cfg,
      `version: 1
accounts:
  oath:
    protocol: sftp
    host: 127.0.0.1
    port: ${ssh.port}
    user: ${ssh.user}
    remoteDir: ${join(box.dir, 'oath-root')}
    password: env:OATH_PW
    otp:
      secret: env:OATH_SEED
      period: ${ssh.period}
    trust:
      hostKeys: ["${ssh.hostKeyFingerprint}"]
`,
    );
    const env = { ...box.env, OTPBACKUP_CONFIG: cfg, OATH_PW: ssh.password, OATH_SEED: SEED };
    const bad = await cli(['account', 'test', 'oath'], env);
    assert.equal(bad.status, 4, bad.stderr);
    assert.match(
      bad.stderr,
      /^prompt 1: {5}"One-time password \(OATH\) for `backup': " answered by default:code \(with the code\)$/m,
    );
    assert.match(bad.stderr, /hint: the server asked "One-time password/);

    // With the rule it logs in; a spent next step makes it wait 1-2 periods, reported apart.
    const { probeAccount } = await import('../../src/accounts/probe.js');
    const { loadConfig } = await import('../../src/config/load.js');
    const { systemClock } = await import('../../src/schedule/clock.js');
    const account = (await loadConfig(env)).accounts.oath!;
    account.prompts = [{ pattern: 'One-time password', answer: '${PASSWORD}${TOTP}' }];
    const p = accountStatePath(env, 'oath');
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, JSON.stringify({ lastStep: totpStep(Date.now(), ssh.period) + 1 }));
    const t0 = Date.now();
    const r = await probeAccount(account, {
      env,
      clock: systemClock,
      getSecret: async (ref) => (ref === 'env:OATH_PW' ? ssh.password : SEED),
    });
    const elapsed = Date.now() - t0;
    assert.ok(r.waitMs >= (ssh.period - 1) * 1000, `waited ${r.waitMs} ms for a fresh step`);
    assert.ok(
      r.loginMs + r.waitMs <= elapsed,
      `login ${r.loginMs} ms + wait ${r.waitMs} ms within ${elapsed} ms`,
    );
    assert.deepEqual(
      r.prompts.map((x) => x.rule),
      ['account.prompts[0]'],
    );
  });
});

describe('wait notices are shown on a terminal or with -v only', () => {
  test('waitNotice: silent without a TTY and -v; one line for waits over 2 s', async () => {
    const { waitNotice } = await import('../../src/cli/wait-notice.js');
    const lines: string[] = [];
    const ctx = (isTTY: boolean, verbose: number) =>
      ({ stderr: { isTTY, write: (s: string) => lines.push(s) }, verbose }) as unknown as Parameters<
        typeof waitNotice
      >[0];
    assert.equal(waitNotice(ctx(false, 0), 'x'), undefined, 'cron: no TTY, no -v');
    const tty = waitNotice(ctx(true, 0), '--otp-reuse allow');
    tty?.({ account: 'a', ms: 2000, reason: 'step-spent' });
    assert.deepEqual(lines, [], 'a 2 s wait goes unmentioned');
    tty?.({ account: 'a', ms: 17_200, reason: 'step-spent' });
    tty?.({ account: 'a', ms: 42_000, reason: 'failure-rate' });
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^account a: waiting 18 s for a fresh TOTP step: .*\(otp\.reuse: forbid\)\n$/);
    assert.doesNotMatch(lines[0]!, /--otp-reuse/, 'no reuse hint unless the server was seen to accept reuse');
    assert.match(lines[1]!, /waiting 42 s: the server refused 3 logins in the last minute/);
  });
});
