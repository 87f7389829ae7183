// Smoke test of the ProFTPD test server itself, with reference tools only (curl, oathtool, ssh,
// the ssh2 Client): proves each vhost accepts its own codes and refuses wrong ones, and records
// mod_auth_otp's quirks (code reuse, HOTP window) that the transports must live with.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { requireTool } from '../support/require.js';
import { alive, childPids, type ProftpdHandle, startProftpd } from './proftpd.js';

const skip = requireTool('proftpd', 'oathtool', 'curl', 'ssh');

interface Run {
  exit: number;
  stdout: string;
  stderr: string;
}
function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: env ?? process.env, timeout: 30_000 }, (err, stdout, stderr) => {
      const exit = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ exit, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

type Algo = 'sha1' | 'sha256' | 'sha512';
/** TOTP code from oathtool (the reference implementation) at `offsetSec` from now. */
async function totp(secret: string, algo: Algo = 'sha1', offsetSec = 0): Promise<string> {
  const at = Math.floor(Date.now() / 1000) + offsetSec;
  const mode = algo === 'sha1' ? '--totp' : `--totp=${algo}`;
  const r = await sh('oathtool', [mode, '-b', '-N', `@${at}`, secret]);
  assert.equal(r.exit, 0, r.stderr);
  return r.stdout.trim();
}
async function hotp(secret: string, counter: number): Promise<string> {
  const r = await sh('oathtool', ['--hotp', '-b', '-c', String(counter), secret]);
  assert.equal(r.exit, 0, r.stderr);
  return r.stdout.trim();
}
/** A well-formed code the server must refuse: not valid in the previous, current or next step. */
async function wrongTotp(secret: string, algo: Algo = 'sha1'): Promise<string> {
  const window = new Set(await Promise.all([-30, 0, 30].map((o) => totp(secret, algo, o))));
  for (let o = 600; ; o += 30) {
    const c = await totp(secret, algo, -o);
    if (!window.has(c)) return c;
  }
}

/** curl FTP(S) session; returns the server replies seen ("< ..." lines of -v). The credentials
 * go in through a config on stdin, not argv (a habit worth keeping even in tests). */
function curlFtp(url: string, user: string, pass: string, extra: string[] = []) {
  return new Promise<Run & { replies: string[] }>((resolve) => {
    const p = spawn('curl', ['-q', '-s', '-v', '--max-time', '20', '-K', '-', url, ...extra]);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    p.on('close', (code) => {
      const replies = stderr
        .split('\n')
        .filter((l) => l.startsWith('< '))
        .map((l) => l.slice(2).trimEnd());
      resolve({ exit: code ?? -1, stdout, stderr, replies });
    });
    p.stdin.end(`user = "${user}:${pass}"\n`);
  });
}

function sshFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

interface KbdPrompt {
  prompt: string;
  echo?: boolean;
}
interface SshResult {
  ok: boolean;
  error?: string;
  prompts: KbdPrompt[];
  hostKey?: string;
  methodsLeft: Array<string[] | null>;
  partial: Array<boolean | null>;
}

/** Log in with the ssh2 Client; on success upload `upload` (if given) through SFTP and close. */
function sshLogin(
  cfg: ConnectConfig,
  answer: () => Promise<string>,
  steps?: Array<'password' | 'publickey' | 'keyboard-interactive'>,
  upload?: { path: string; data: string },
  password?: string,
  privateKey?: Buffer,
): Promise<SshResult> {
  return new Promise((resolve) => {
    const res: SshResult = { ok: false, prompts: [], methodsLeft: [], partial: [] };
    const c = new Client();
    const kbd = (
      _name: string,
      _instr: string,
      _lang: string,
      prompts: KbdPrompt[],
      finish: (answers: string[]) => void,
    ) => {
      res.prompts.push(...prompts);
      answer().then((a) => finish(prompts.map(() => a)));
    };
    const conf: ConnectConfig = {
      host: '127.0.0.1',
      readyTimeout: 10_000,
      hostVerifier: (key: Buffer) => {
        res.hostKey = sshFingerprint(key);
        return true;
      },
      ...cfg,
    };
    if (steps) {
      const todo = [...steps];
      const username = cfg.username ?? '';
      conf.authHandler = (methodsLeft, partial, next) => {
        res.methodsLeft.push(methodsLeft);
        res.partial.push(partial);
        const step = todo.shift();
        if (!step) return next(false as never);
        if (step === 'password') return next({ type: 'password', username, password: password ?? '' });
        if (step === 'publickey') return next({ type: 'publickey', username, key: privateKey ?? '' });
        return next({ type: 'keyboard-interactive', username, prompt: kbd });
      };
    } else {
      conf.tryKeyboard = true;
      c.on('keyboard-interactive', kbd);
    }
    let settled = false;
    const done = (r: SshResult) => {
      if (settled) return;
      settled = true;
      c.end();
      resolve(r);
    };
    c.on('error', (e) => done({ ...res, error: e.message }));
    c.on('ready', () => {
      res.ok = true;
      if (!upload) return done(res);
      c.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) return done({ ...res, error: `sftp: ${err.message}` });
        sftp.writeFile(upload.path, upload.data, (e?: Error | null) =>
          done(e ? { ...res, error: `write: ${e.message}` } : res),
        );
      });
    });
    c.connect(conf);
  });
}

describe('proftpd test server (mod_auth_otp on loopback)', { skip }, () => {
  let srv: ProftpdHandle;
  let startMs = 0;

  before(async () => {
    const t0 = Date.now();
    srv = await startProftpd();
    startMs = Date.now() - t0;
  });
  after(async () => {
    await srv?.stop();
  });

  test('starts quickly on loopback ports, all distinct', () => {
    const ports = Object.values(srv.ports);
    assert.equal(new Set(ports).size, ports.length);
    assert.ok(startMs < 10_000, `start took ${startMs} ms`);
    assert.match(srv.sshHostKeyFingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.match(srv.tlsCertFingerprint, /^SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  test('FTP TOTP: 331 asks for the code, PASS <code> logs in, an upload lands in the home', async () => {
    const u = srv.users.totp;
    const local = join(srv.dir, 'upload-src.txt');
    await writeFile(local, 'hello from curl\n');
    const r = await curlFtp(
      `ftp://127.0.0.1:${srv.ports.ftp}/sub/dir/hello.txt`,
      u.name,
      await totp(u.secret),
      ['--ftp-create-dirs', '-T', local],
    );
    assert.equal(r.exit, 0, r.stderr);
    assert.equal(r.replies[0], '220 127.0.0.1 FTP server ready', 'ServerIdent off hides the product');
    assert.ok(r.replies.includes(`331 One-time password required for ${u.name}`), r.replies.join('\n'));
    assert.ok(r.replies.includes(`230 User ${u.name} logged in`));
    assert.equal(await readFile(join(srv.home(u.name), 'sub/dir/hello.txt'), 'utf8'), 'hello from curl\n');
  });

  test('FTP TOTP: a wrong code gets "530 Login incorrect." and is counted; the SQL password is refused too', async () => {
    const u = srv.users.totp;
    const before = await srv.failedLogins();
    const wrong = await curlFtp(`ftp://127.0.0.1:${srv.ports.ftp}/`, u.name, await wrongTotp(u.secret));
    assert.equal(wrong.exit, 67, 'curl: login denied');
    assert.ok(wrong.replies.includes('530 Login incorrect.'), wrong.replies.join('\n'));
    // OTP is authoritative (AuthOrder mod_auth_otp.c*): the password alone must not get in.
    const pw = await curlFtp(`ftp://127.0.0.1:${srv.ports.ftp}/`, u.name, u.password);
    assert.equal(pw.exit, 67);
    // Neither with the usual "password+code" concatenation.
    const both = await curlFtp(
      `ftp://127.0.0.1:${srv.ports.ftp}/`,
      u.name,
      u.password + (await totp(u.secret)),
    );
    assert.equal(both.exit, 67);
    assert.equal(await srv.failedLogins(), before + 3);
  });

  test('FTP TOTP quirk: the same code is accepted twice, and the previous step still works', async () => {
    const u = srv.users.totp;
    // Four logins take a few seconds under load: start early in a step so that "same code twice"
    // and "one step back" mean what they say.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 12_000) await new Promise((r) => setTimeout(r, left + 200));
    const code = await totp(u.secret);
    const a = await curlFtp(`ftp://127.0.0.1:${srv.ports.ftp}/`, u.name, code);
    const b = await curlFtp(`ftp://127.0.0.1:${srv.ports.ftp}/`, u.name, code);
    assert.equal(a.exit, 0, a.stderr);
    assert.equal(b.exit, 0, 'mod_auth_otp keeps no record of spent TOTP codes');
    const prev = await curlFtp(
      `ftp://127.0.0.1:${srv.ports.ftp}/`,
      u.name,
      await totp(u.secret, 'sha1', -30),
    );
    assert.equal(prev.exit, 0, 'one step of skew is allowed either way');
    const old = await curlFtp(`ftp://127.0.0.1:${srv.ports.ftp}/`, u.name, await totp(u.secret, 'sha1', -90));
    assert.equal(old.exit, 67, 'three steps back is refused');
  });

  test('FTPS explicit: AUTH TLS with the test CA, and plain USER is refused with 550', async () => {
    const u = srv.users.totp;
    const url = `ftp://127.0.0.1:${srv.ports.ftps}/`;
    const ok = await curlFtp(url, u.name, await totp(u.secret), ['--ssl-reqd', '--cacert', srv.caCertPath]);
    assert.equal(ok.exit, 0, ok.stderr);
    assert.ok(ok.replies.some((l) => /^234 /.test(l)));
    assert.ok(ok.replies.includes(`230 User ${u.name} logged in`));
    const plain = await curlFtp(url, u.name, await totp(u.secret));
    assert.notEqual(plain.exit, 0);
    assert.ok(
      plain.replies.includes('550 SSL/TLS required on the control channel'),
      plain.replies.join('\n'),
    );
    // Without the CA the certificate is not trusted.
    const untrusted = await curlFtp(url, u.name, await totp(u.secret), ['--ssl-reqd']);
    assert.equal(untrusted.exit, 60, 'curl: peer certificate cannot be authenticated');
  });

  test('FTPS implicit: TLS from the first byte; the certificate matches tlsCertFingerprint', async () => {
    const port = srv.ports.ftpsImplicit;
    assert.ok(port, 'implicit FTPS port');
    const u = srv.users.totp;
    const r = await curlFtp(`ftps://127.0.0.1:${port}/`, u.name, await totp(u.secret), [
      '--cacert',
      srv.caCertPath,
    ]);
    assert.equal(r.exit, 0, r.stderr);
    const ca = await readFile(srv.caCertPath, 'utf8');
    const fp = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
        const f = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        s.destroy();
        resolve(`SHA256:${f}`);
      });
      s.on('error', reject);
    });
    assert.equal(fp, srv.tlsCertFingerprint);
  });

  test('HOTP: codes for the stored counter work and advance it; the last code works once more', async () => {
    const u = srv.users.hotp;
    const url = `ftp://127.0.0.1:${srv.ports.hotp}/`;
    assert.equal(await srv.hotpCounter(), u.counter);
    const c0 = u.counter;
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0))).exit, 0);
    assert.equal(await srv.hotpCounter(), c0 + 1);
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0 + 1))).exit, 0);
    assert.equal(await srv.hotpCounter(), c0 + 2);
    // Quirk: the window is counter-1..counter+1, and any success stores counter+1. So the code
    // just spent (counter-1) is accepted again, once, and moves the counter on.
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0 + 1))).exit, 0);
    assert.equal(await srv.hotpCounter(), c0 + 3);
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0 + 1))).exit, 67);
    assert.equal(await srv.hotpCounter(), c0 + 3, 'a refused code does not move the counter');
    // One ahead is accepted (client pressed the button once too often).
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0 + 4))).exit, 0);
    assert.equal(await srv.hotpCounter(), c0 + 4);
    assert.equal((await curlFtp(url, u.name, await hotp(u.secret, c0 + 9))).exit, 67);
  });

  test('TOTP-SHA256 and TOTP-SHA512 vhosts accept their own codes, refuse SHA-1 codes', async () => {
    for (const [algo, u, port] of [
      ['sha256', srv.users.sha256, srv.ports.sha256],
      ['sha512', srv.users.sha512, srv.ports.sha512],
    ] as const) {
      const url = `ftp://127.0.0.1:${port}/`;
      const ok = await curlFtp(url, u.name, await totp(u.secret, algo));
      assert.equal(ok.exit, 0, `${algo}: ${ok.stderr}`);
      let sha1 = await totp(u.secret, 'sha1');
      const window = await Promise.all([-30, 0, 30].map((o) => totp(u.secret, algo, o)));
      if (window.includes(sha1)) sha1 = await wrongTotp(u.secret, algo); // 1-in-300000 collision
      assert.equal((await curlFtp(url, u.name, sha1)).exit, 67, `${algo} vhost took a SHA-1 code`);
    }
  });

  test('SFTP keyboard-interactive: one "Verification code: " prompt, no echo; upload lands', async () => {
    const u = srv.users.totp;
    const r = await sshLogin({ port: srv.ports.sftpKbd, username: u.name }, () => totp(u.secret), undefined, {
      path: '/kbd.txt',
      data: 'via sftp\n',
    });
    assert.equal(r.error, undefined);
    assert.ok(r.ok);
    assert.deepEqual(r.prompts, [{ prompt: 'Verification code: ', echo: false }]);
    assert.equal(r.hostKey, srv.sshHostKeyFingerprint);
    assert.equal(await readFile(join(srv.home(u.name), 'kbd.txt'), 'utf8'), 'via sftp\n');
  });

  test('SFTP keyboard-interactive: a wrong code is refused and counted', async () => {
    const u = srv.users.totp;
    const before = await srv.failedLogins();
    const wrong = await wrongTotp(u.secret);
    const r = await sshLogin({ port: srv.ports.sftpKbd, username: u.name }, async () => wrong);
    assert.equal(r.ok, false);
    assert.equal(r.error, 'All configured authentication methods failed');
    assert.equal(await srv.failedLogins(), before + 1);
  });

  test('SFTP: ssh -o BatchMode=yes is refused (no password method offered)', async () => {
    const r = await sh(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'IdentityFile=/dev/null',
        '-o',
        'ConnectTimeout=10',
        '-p',
        String(srv.ports.sftpKbd),
        `${srv.users.totp.name}@127.0.0.1`,
        'true',
      ],
      { PATH: process.env.PATH, HOME: srv.dir },
    );
    assert.equal(r.exit, 255);
    assert.match(r.stderr, /Permission denied \(keyboard-interactive\)/);
  });

  test('SFTP multi-step: password then code', async () => {
    const u = srv.users.multi;
    const r = await sshLogin(
      { port: srv.ports.sftpMulti, username: u.name },
      () => totp(u.secret),
      ['password', 'keyboard-interactive'],
      { path: '/multi.txt', data: 'two factors\n' },
      u.password,
    );
    assert.equal(r.error, undefined);
    assert.deepEqual(r.methodsLeft[1], ['keyboard-interactive'], 'the password is a partial success');
    assert.equal(r.partial[1], true);
    assert.deepEqual(r.prompts, [{ prompt: 'Verification code: ', echo: false }]);
    assert.equal(await readFile(join(srv.home(u.name), 'multi.txt'), 'utf8'), 'two factors\n');
  });

  test('SFTP multi-step: public key then code', async () => {
    const u = srv.users.multi;
    const r = await sshLogin(
      { port: srv.ports.sftpMulti, username: u.name },
      () => totp(u.secret),
      ['publickey', 'keyboard-interactive'],
      undefined,
      undefined,
      await readFile(srv.clientKeyPath),
    );
    assert.equal(r.error, undefined);
    assert.ok(r.ok);
    assert.deepEqual(r.methodsLeft[1], ['keyboard-interactive']);
  });

  test('SFTP multi-step: the code as password, or the password alone, does not get in', async () => {
    const u = srv.users.multi;
    const before = await srv.failedLogins();
    const codeAsPw = await sshLogin(
      { port: srv.ports.sftpMulti, username: u.name },
      () => totp(u.secret),
      ['password'],
      undefined,
      await totp(u.secret),
    );
    assert.equal(codeAsPw.ok, false);
    assert.deepEqual(codeAsPw.methodsLeft[1], ['password', 'publickey']);
    const pwOnly = await sshLogin(
      { port: srv.ports.sftpMulti, username: u.name },
      async () => '',
      ['password'],
      undefined,
      u.password,
    );
    assert.equal(pwOnly.ok, false);
    assert.equal(pwOnly.partial[1], true);
    assert.equal(await srv.failedLogins(), before + 1, 'only the wrong password is a refusal');
  });
});

describe('proftpd test server: stop()', { skip }, () => {
  test('kills the master and its session processes, by PID, and removes the dir', async () => {
    const srv = await startProftpd();
    // An idle open session: proftpd forks a child for it.
    const sock = netConnect({ host: '127.0.0.1', port: srv.ports.ftp });
    await new Promise<void>((resolve, reject) => {
      sock.once('data', () => resolve());
      sock.once('error', reject);
    });
    const kids = await childPids(srv.pid);
    assert.ok(kids.length >= 1, 'a session process exists');
    await srv.stop();
    sock.destroy();
    for (const p of [srv.pid, ...kids]) assert.equal(alive(p), false, `process ${p} still running`);
    assert.equal(existsSync(srv.dir), false);
  });
});
