// --timeout, --connect-timeout and --retries (#17 §4), through the built CLI against in-process
// fake FTP servers that count their connections: one that logs in and then goes silent (the idle
// I/O timeout, then a reconnect per --retries), one that never greets (--connect-timeout), and one
// that hangs up at once (--retries at login). Counts of connections, not wall-clock budgets; the only
// times asserted are lower bounds (a timeout of N s waited at least N s) and the message's figure.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { childPids } from '../servers/proftpd.js';
import { sftpServerAvailable, startSshServer } from '../servers/ssh-inprocess.js';
import { makeSftp, sftpAccount, tempEnv } from './sftp-helpers.js';

const SEED = 'JBSWY3DPEHPK3PXP';
let box: Sandbox;
let file: string;

before(() => {
  box = sandbox('otpbackup-timeouts-');
  file = join(box.dir, 'f.txt');
  writeFileSync(file, 'hello\n');
});
after(() => box?.cleanup());

type Mode = 'silent-after-login' | 'no-greeting' | 'hang-up';

/** A fake FTP server: counts connections; what it does on each depends on `mode`. */
async function fake(mode: Mode): Promise<{ port: number; conns: number; close(): void }> {
  const socks = new Set<Socket>();
  const h = { port: 0, conns: 0, close: () => {} };
  const server: Server = createServer((s) => {
    h.conns++;
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
    if (mode === 'hang-up') return void s.destroy();
    if (mode === 'no-greeting') return;
    s.write('220 fake\r\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        const cmd = line.split(' ')[0]!.toUpperCase();
        const reply: Record<string, string> = {
          USER: '331 code please',
          PASS: '230 logged in',
          FEAT: '211 no features',
          PWD: '257 "/"',
          TYPE: '200 ok',
          OPTS: '200 ok',
          SYST: '215 UNIX',
        };
        // Logged in, then silence: the first real command never gets an answer.
        if (reply[cmd]) s.write(`${reply[cmd]}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.port = (server.address() as { port: number }).port;
  h.close = () => {
    for (const s of socks) s.destroy();
    server.close();
  };
  return h;
}

async function upload(port: number, extra: string[]) {
  const t0 = performance.now();
  const r = await cli(
    ['upload', file, '--to', `ftp://u@127.0.0.1:${port}/`, '--otp-reuse', 'allow', ...extra],
    {
      ...box.env,
      OTPBACKUP_TOTP_SECRET: SEED,
    },
  );
  return { ...r, ms: performance.now() - t0 };
}

describe('--timeout: a server that logs us in and then goes silent', () => {
  test('--timeout 1 --retries 0: abandoned after the timeout, one connection, exit 1', async () => {
    const f = await fake('silent-after-login');
    try {
      const r = await upload(f.port, ['--timeout', '1', '--retries', '0']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /timeout|timed out/i);
      assert.equal(f.conns, 1, '--retries 0: one attempt');
      assert.ok(r.ms >= 1000, `gave up after ${r.ms} ms, before the 1 s timeout`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      f.close();
    }
  });

  test('--timeout 1 --retries 2: three connections, then the same failure', async () => {
    const f = await fake('silent-after-login');
    try {
      const r = await upload(f.port, ['--timeout', '1', '--retries', '2']);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(f.conns, 3, 'one attempt and two reconnects');
    } finally {
      f.close();
    }
  });
});

describe('--connect-timeout and --retries at login', () => {
  test('a listener that never greets: "no FTP greeting within 1 s" with --connect-timeout 1', async () => {
    const f = await fake('no-greeting');
    try {
      const r = await upload(f.port, ['--connect-timeout', '1']);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, /sent no FTP greeting within 1 s/);
      assert.equal(f.conns, 1);
    } finally {
      f.close();
    }
  });

  test('a server that hangs up at once: tried twice by default, once with --retries 0', async () => {
    const f = await fake('hang-up');
    try {
      const d = await upload(f.port, []);
      assert.equal(d.status, 1, d.stderr);
      assert.equal(f.conns, 2, 'default: one reconnect at login');
      f.conns = 0;
      const r = await upload(f.port, ['--retries', '0']);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(f.conns, 1, '--retries 0: one attempt');
    } finally {
      f.close();
    }
  });

  test('bad values: one line naming the flag, exit 2', async () => {
    for (const [flag, v] of [
      ['--timeout', '0'],
      ['--connect-timeout', 'soon'],
      ['--retries', '-1'],
    ] as const) {
      const r = await cli(['upload', file, '--to', 'ftp://u@127.0.0.1:1/', `${flag}=${v}`], {
        ...box.env,
        OTPBACKUP_TOTP_SECRET: SEED,
      });
      assert.equal(r.status, 2, `${flag} ${v}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} "${v}" is not`));
    }
  });
});

describe('--timeout over SFTP: a session whose sftp-server hangs while SSH still answers keepalives', {
  skip: sftpServerAvailable() ? false : 'openssh-sftp-server missing',
}, () => {
  /** The sftp-server processes this test process started (through the in-process SSH server). */
  async function sftpServers(): Promise<number[]> {
    const out: number[] = [];
    for (const pid of await childPids(process.pid)) {
      const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'sftp-server') out.push(pid);
    }
    return out;
  }

  async function hungList(retries: number) {
    const root = mkdtempSync(join(tmpdir(), 'otpbackup-hung-'));
    const srv = await startSshServer({ style: 'sftpgo', root });
    const t = tempEnv();
    const lines: string[] = [];
    const tr = makeSftp(srv, sftpAccount(srv, root, { timeout: 1, retries }), t.env, {
      log: (l) => lines.push(l),
    });
    const stopped: number[] = [];
    try {
      await tr.connect();
      writeFileSync(join(root, 'a.txt'), 'a');
      assert.equal((await tr.list(root)).length, 1);
      for (const pid of await sftpServers()) {
        process.kill(pid, 'SIGSTOP'); // our own child: the session's file server stops answering
        stopped.push(pid);
      }
      assert.ok(stopped.length > 0, 'found the session’s sftp-server');
      const t0 = performance.now();
      let guard: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        tr.list(root).then(
          (e) => ({ entries: e.length }),
          (e: Error) => ({ error: e.message }),
        ),
        new Promise<{ hung: true }>((r) => {
          guard = setTimeout(() => r({ hung: true }), 30_000);
        }),
      ]);
      clearTimeout(guard);
      return { outcome, ms: performance.now() - t0, lines };
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      await tr.close().catch(() => {});
      await srv.stop();
      t.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  }

  test('the hung session is given up after the timeout; the listing succeeds on a new one', async () => {
    const r = await hungList(3);
    assert.deepEqual(r.outcome, { entries: 1 }, r.lines.join('\n'));
    assert.ok(r.ms >= 1000, `gave up after ${r.ms} ms`);
    assert.ok(
      r.lines.some((l) => /no answer from the server for 1 s/.test(l)),
      r.lines.join('\n'),
    );
  });

  test('retries 0: the listing fails, naming the silence', async () => {
    const r = await hungList(0);
    assert.ok('error' in r.outcome, JSON.stringify(r.outcome));
    assert.match((r.outcome as { error: string }).error, /no answer from the server for 1 s/);
  });
});
