// SFTP transport against the in-process SSH servers (test/servers/ssh-inprocess.ts): login shapes,
// host-key trust, prompt handling, and file operations through OpenSSH's real sftp-server.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { knownHostsPath } from '../../src/config/paths.js';
import { OtpBackupError } from '../../src/errors.js';
import { knownHostsLine } from '../../src/transport/sftp/hostkeys.js';
import {
  generateEd25519,
  type SshServerHandle,
  type SshServerOptions,
  startSshServer,
} from '../servers/ssh-inprocess.js';
import { requireTool } from '../support/require.js';
import { makeSftp, sftpAccount, sftpSuiteTarget, tempEnv } from './sftp-helpers.js';
import { transportSuite } from './suite.js';

const skip = requireTool('sftp-server');

const t = tempEnv();
after(() => t.cleanup());
let n = 0;

/** A server plus a fresh remote root and a fresh otpbackup state (HOME/XDG) for one test. */
async function setup(opts: Omit<SshServerOptions, 'root'>) {
  n++;
  const base = join(t.dir, `case${n}`);
  const root = join(base, 'remote');
  mkdirSync(root, { recursive: true });
  const srv = await startSshServer({ ...opts, root });
  const env = {
    ...t.env,
    HOME: join(base, 'home'),
    XDG_STATE_HOME: join(base, 'state'),
    XDG_CONFIG_HOME: join(base, 'config'),
  };
  return { srv, root, env, base };
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<OtpBackupError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OtpBackupError, `expected OtpBackupError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.fail('expected a rejection');
}

function secretsOf(srv: SshServerHandle): string[] {
  return [srv.password, srv.secret, ...srv.codes];
}

describe('SFTP logins against in-process servers', { skip }, () => {
  const servers: SshServerHandle[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });
  async function server(opts: Omit<SshServerOptions, 'root'>) {
    const s = await setup(opts);
    servers.push(s.srv);
    return s;
  }

  test('SFTPGo style: "Password: " then "Authentication code: " in two rounds', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo' });
    const lines: string[] = [];
    const tr = makeSftp(srv, sftpAccount(srv, root), env, { log: (l) => lines.push(l) });
    await tr.connect();
    try {
      assert.deepEqual(
        tr.promptLog.map((p) => [p.prompt, p.rule]),
        [
          ['Password: ', 'default:password'],
          ['Authentication code: ', 'default:code'],
        ],
      );
      assert.equal(srv.rejections, 0);
      assert.equal(srv.logins, 1);
      assert.equal(tr.hostKey?.source, 'pinned');
      const all = lines.join('\n') + JSON.stringify(tr.promptLog);
      for (const s of secretsOf(srv)) assert.ok(!all.includes(s), 'a secret leaked into the log');
    } finally {
      await tr.close();
    }
  });

  test('SFTPGo style: publickey (partial success) then only the code', async () => {
    const pair = generateEd25519();
    const { srv, root, env, base } = await server({ style: 'sftpgo', authorizedKey: pair.public });
    const keyPath = join(base, 'id_ed25519');
    writeFileSync(keyPath, pair.private, { mode: 0o600 });
    const tr = makeSftp(srv, sftpAccount(srv, root, { privateKey: keyPath }), env);
    await tr.connect();
    await tr.close();
    assert.deepEqual(
      tr.promptLog.map((p) => p.prompt),
      ['Authentication code: '],
    );
    assert.equal(srv.rejections, 0);
  });

  test('PAM forward_pass: one combined prompt answered with the template', async () => {
    const { srv, root, env } = await server({ style: 'pam', forwardPass: true });
    const tr = makeSftp(srv, sftpAccount(srv, root, { template: '${PASSWORD}${TOTP}' }), env);
    await tr.connect();
    await tr.close();
    assert.deepEqual(
      tr.promptLog.map((p) => [p.prompt, p.rule]),
      [['Password & verification code: ', 'default:combined']],
    );
  });

  test('no-reuse server: two logins in a row both succeed with zero rejections', async () => {
    const { srv, root, env } = await server({ style: 'pam', period: 3 });
    const acc = sftpAccount(srv, root);
    for (let i = 0; i < 2; i++) {
      const tr = makeSftp(srv, acc, env);
      await tr.connect();
      await tr.close();
    }
    assert.equal(srv.logins, 2);
    assert.equal(srv.rejections, 0);
    assert.notEqual(srv.codes[0], srv.codes[1]);
  });

  test('rounds without prompts are answered with no answers', async () => {
    const { srv, root, env } = await server({ style: 'pam', emptyRound: true });
    const tr = makeSftp(srv, sftpAccount(srv, root), env);
    await tr.connect();
    await tr.close();
    assert.equal(srv.logins, 1);
    assert.equal(srv.emptyRoundsAnswered, 1);
    // ssh2 answers prompt-less rounds itself, so only the real prompt reaches the log.
    assert.deepEqual(
      tr.promptLog.map((p) => p.rule),
      ['default:code'],
    );
  });

  test('a prompt repeated after a refused code gets a fresh code, never the spent one', async () => {
    const { srv, root, env } = await server({
      style: 'pam',
      period: 3,
      rejectFirst: 1,
      repromptOnFailure: true,
    });
    const tr = makeSftp(srv, sftpAccount(srv, root), env);
    await tr.connect();
    await tr.close();
    assert.equal(srv.logins, 1);
    assert.equal(srv.codes.length, 2, 'one refused code, one fresh code');
    assert.notEqual(srv.codes[0], srv.codes[1]);
    assert.equal(srv.rejections, 1);
  });

  test('a refused keyboard-interactive login is retried once, in a new connection with a fresh code', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo', period: 3, rejectFirst: 1 });
    const tr = makeSftp(srv, sftpAccount(srv, root), env);
    await tr.connect();
    await tr.close();
    assert.equal(srv.codes.length, 2);
    assert.notEqual(srv.codes[0], srv.codes[1]);
    assert.equal(srv.rejections, 1);
  });

  test('unknown prompt: config error quoting it; the code is not retried', async () => {
    const { srv, root, env } = await server({ style: 'pam', extraPrompt: 'Favourite colour? ' });
    const tr = makeSftp(srv, sftpAccount(srv, root), env);
    const e = await rejectsWith(tr.connect(), 'config', /"Favourite colour\? "/);
    assert.match(e.hint ?? '', /prompts/);
    assert.equal(srv.codes.length, 1);
  });

  test('unknown host key refused, printing its fingerprint; no secret sent', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo' });
    const tr = makeSftp(srv, sftpAccount(srv, root, { trust: {} }), env);
    const e = await rejectsWith(tr.connect(), 'trust', /not trusted/);
    assert.ok(e.message.includes(srv.hostKeyFingerprint));
    assert.ok(e.hint?.includes(`--trust-host-key ${srv.hostKeyFingerprint}`));
    assert.equal(srv.codes.length, 0);
    assert.deepEqual(srv.prompts, []);
  });

  test('changed host key (known_hosts holds another key) refused loudly', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo' });
    const other = ssh2.utils.parseKey(generateEd25519().public);
    if (other instanceof Error || Array.isArray(other)) throw new Error('key');
    mkdirSync(join(env.HOME, '.ssh'), { recursive: true });
    writeFileSync(
      join(env.HOME, '.ssh', 'known_hosts'),
      `[127.0.0.1]:${srv.port} ssh-ed25519 ${other.getPublicSSH().toString('base64')}\n`,
    );
    const tr = makeSftp(srv, sftpAccount(srv, root, { trust: {} }), env);
    await rejectsWith(tr.connect(), 'trust-changed', /HAS CHANGED/);
    assert.equal(srv.codes.length, 0);
  });

  test('key in otpbackup known_hosts, or pinned with --trust-host-key, is accepted', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo' });
    const pinned = makeSftp(srv, sftpAccount(srv, root, { trust: {} }), env, {
      trustHostKeys: [srv.hostKeyFingerprint],
    });
    await pinned.connect();
    await pinned.close();
    assert.equal(pinned.hostKey?.source, 'pinned');
    mkdirSync(dirname(knownHostsPath(env)), { recursive: true });
    writeFileSync(knownHostsPath(env), `${knownHostsLine('127.0.0.1', srv.port, srv.hostKeyBlob)}\n`);
    const known = makeSftp(srv, sftpAccount(srv, root, { trust: {} }), env);
    await known.connect();
    await known.close();
    assert.match(known.hostKey?.source ?? '', /known_hosts:1$/);
  });

  test('wrong password: auth error after at most 2 refused logins, no secret in the message', async () => {
    const { srv, root, env } = await server({ style: 'sftpgo', period: 3 });
    const acc = sftpAccount(srv, root);
    const tr = makeSftp({ ...srv, password: 'not-the-password' }, acc, env);
    const e = await rejectsWith(tr.connect(), 'auth', /refused/);
    assert.ok(srv.rejections <= 2);
    const text = `${e.message} ${e.hint}`;
    for (const s of [...secretsOf(srv), 'not-the-password']) assert.ok(!text.includes(s));
  });
});

describe('SFTP file operations (in-process server, real sftp-server)', { skip }, () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  let tr: ReturnType<typeof makeSftp>;
  before(async () => {
    ctx = await setup({ style: 'sftpgo' });
    tr = makeSftp(ctx.srv, sftpAccount(ctx.srv, ctx.root), ctx.env);
    await tr.connect();
  });
  after(async () => {
    await tr?.close();
    await ctx?.srv.stop();
  });

  test('many puts in flight on one session, atomic and size-checked, no temp files left', async () => {
    const dir = join(ctx.root, 'many', 'deep');
    await tr.mkdirp(dir);
    const files = Array.from({ length: 24 }, (_, i) => {
      const p = join(ctx.base, `f${i}.bin`);
      writeFileSync(p, Buffer.alloc(i * 7919 + 1, i));
      return p;
    });
    assert.ok(tr.concurrency >= 8);
    const queue = [...files.entries()];
    await Promise.all(
      Array.from({ length: tr.concurrency }, async () => {
        for (let item = queue.shift(); item; item = queue.shift())
          await tr.put(item[1], join(dir, `f${item[0]}.bin`));
      }),
    );
    const names = readdirSync(dir).sort();
    assert.equal(names.length, 24, names.join(','));
    for (const [i, p] of files.entries())
      assert.ok(readFileSync(join(dir, `f${i}.bin`)).equals(readFileSync(p)));
    const listed = await tr.list(dir);
    assert.equal(listed.length, 24);
    assert.equal(listed.find((e) => e.name === 'f3.bin')?.size, 3 * 7919 + 1);
  });

  test('put replaces an existing file; rename, stat, remove', async () => {
    const local = join(ctx.base, 'v.txt');
    const target = join(ctx.root, 'r', 'v.txt');
    await tr.mkdirp(join(ctx.root, 'r'));
    writeFileSync(local, 'one');
    await tr.put(local, target);
    writeFileSync(local, 'second');
    await tr.put(local, target, { mtime: new Date('2020-01-02T03:04:05Z') });
    assert.equal(readFileSync(target, 'utf8'), 'second');
    const st = await tr.stat(target);
    assert.equal(st?.type, 'file');
    assert.equal(st?.size, 6);
    assert.equal(st?.mtime?.toISOString(), '2020-01-02T03:04:05.000Z');
    await tr.rename(target, join(ctx.root, 'r', 'w.txt'));
    assert.equal(await tr.stat(target), undefined);
    await tr.remove(join(ctx.root, 'r', 'w.txt'));
    assert.deepEqual(readdirSync(join(ctx.root, 'r')), []);
  });

  test('a file shorter than expected (it shrank) is refused and the temp file removed', async () => {
    const local = join(ctx.base, 's.txt');
    writeFileSync(local, 'abc');
    await rejectsWith(
      tr.put(local, join(ctx.root, 's.txt'), { size: 4 }),
      'local',
      /ended at 3 of 4 bytes: it changed while being uploaded/,
    );
    assert.deepEqual(
      readdirSync(ctx.root).filter((f) => f.startsWith('.s.txt')),
      [],
    );
    assert.equal(await tr.stat(join(ctx.root, 's.txt')), undefined);
  });

  test('names with CR, LF or NUL are refused before anything is sent', async () => {
    const local = join(ctx.base, 'ok.txt');
    writeFileSync(local, 'x');
    await rejectsWith(tr.put(local, join(ctx.root, 'bad\nname')), 'usage', /LF/);
    await rejectsWith(tr.mkdirp(join(ctx.root, 'a\rb')), 'usage', /CR/);
    await rejectsWith(tr.stat(join(ctx.root, 'a\0b')), 'usage', /NUL/);
  });

  test('permission and missing paths are remote errors; missing local file is local', async () => {
    await rejectsWith(tr.list(join(ctx.root, 'nope')), 'remote', /no such file/);
    await rejectsWith(tr.mkdirp('/proc/otpbackup-test'), 'remote', /.+/);
    await rejectsWith(tr.put(join(ctx.base, 'missing'), join(ctx.root, 'x')), 'local', /missing/);
  });

  test('a large file streams with flat memory', async () => {
    const local = join(ctx.base, 'big.bin');
    const size = 48 * 1024 * 1024;
    writeFileSync(local, Buffer.alloc(size, 7));
    const start = process.memoryUsage().rss;
    let peak = start;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    let progress = 0;
    try {
      await tr.put(local, join(ctx.root, 'big.bin'), { onProgress: (b) => (progress = b) });
    } finally {
      clearInterval(timer);
    }
    assert.equal(progress, size);
    assert.equal((await tr.stat(join(ctx.root, 'big.bin')))?.size, size);
    assert.ok(peak - start < 32 * 1024 * 1024, `rss grew by ${Math.round((peak - start) / 1048576)} MiB`);
  });

  test('a dropped connection is a retryable network error', async () => {
    await ctx.srv.stop();
    await new Promise((r) => setTimeout(r, 100));
    const e = await rejectsWith(tr.list(ctx.root), 'network', /.+/);
    assert.equal(e.retryable, true);
  });
});

for (const style of ['sftpgo', 'pam'] as const) {
  if (skip) break;
  transportSuite(`sftp (in-process ${style}, no reuse)`, async () => {
    const { srv, root } = await setup({ style, period: 3, forwardPass: style === 'pam' });
    const base = join(root, 'base');
    mkdirSync(base);
    return sftpSuiteTarget({
      srv,
      remoteBase: base,
      localRoot: base,
      // Not chrooted: sftp-server starts in `root`, a real path that is not "/".
      loginDir: { local: root, remote: realpathSync(root) },
      failedLogins: async () => srv.rejections,
      // pam: at most 3 logins per 30 s, like pam_google_authenticator's RATE_LIMIT 3 30.
      ...(style === 'pam' ? { loginPauseMs: 30_000 } : {}),
      teardown: () => srv.stop(),
    });
  });
}
