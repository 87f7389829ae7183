// `otpbackup upload` as a CI pipeline runs it: the built CLI, CI=true, stdin closed, secrets only in
// the environment, against the real ProFTPD (FTP TOTP with reuse allowed, explicit FTPS with --ca,
// HOTP with a counter file, SFTP keyboard-interactive with --host-key). Every run's output is checked
// for leaked secrets. Skipped locally when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type CliRun,
  cli,
  readTree,
  type Sandbox,
  sandbox,
  start,
  tempNames,
} from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshServerHandle, startSshServer } from '../servers/ssh-inprocess.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;
let src: string;
let secrets: string[];

/** The CLI with CI=true and only the given secrets in the environment; checks the output for leaks. */
async function upload(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const r = await cli(['upload', ...args], { ...box.env, CI: 'true', ...extraEnv });
  assertNoLeak(r);
  return r;
}

function assertNoLeak(r: CliRun) {
  for (const s of secrets) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret leaked: ${r.stdout}${r.stderr}`);
  }
  // No 6-digit code either (the sandbox paths and sizes in these tests never hold one).
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /\b\d{6}\b/, 'no one-time code in the output');
}

function assertSameTree(remote: string, want: Map<string, Buffer>) {
  const got = readTree(remote);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same file names');
  for (const [k, v] of want) assert.ok(got.get(k)?.equals(v), `${k}: same bytes`);
  assert.deepEqual(tempNames(remote), [], 'no temp names remain');
}

/** The sources minus *.log. */
function expected(): Map<string, Buffer> {
  const t = readTree(src);
  for (const k of [...t.keys()]) if (k.endsWith('.log')) t.delete(k);
  return t;
}

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-upload-');
  const u = server.users.totp;
  secrets = [u.secret, u.password, server.users.hotp.secret];
  src = join(box.dir, 'site');
  mkdirSync(join(src, 'assets/img'), { recursive: true });
  writeFileSync(join(src, 'index.html'), '<h1>hi</h1>\n');
  writeFileSync(join(src, 'assets/app.js'), 'console.log(1)\n');
  writeFileSync(join(src, 'assets/img/logo.bin'), Buffer.alloc(70_000, 3));
  writeFileSync(join(src, 'debug.log'), 'excluded\n');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

describe('otpbackup upload (ProFTPD)', { skip: missing }, () => {
  const ftpUrl = (dir: string) => `ftp://${server.users.totp.name}@127.0.0.1:${server.ports.ftp}/${dir}`;
  const seedEnv = () => ({ OTPBACKUP_TOTP_SECRET: server.users.totp.secret });

  // Started first and awaited last: a refused login is retried once in the next TOTP step (up to 30 s).
  let wrongSeed: Promise<CliRun>;
  before(() => {
    const stateHome = join(box.dir, 'state-wrong');
    wrongSeed = start(
      ['upload', src, '--to', ftpUrl('wrong'), '--otp-reuse', 'allow', '--totp-secret-env', 'CI_SEED'],
      // A valid Base32 seed that is not the user's; its own state dir, so the refused logins it
      // records do not slow the other tests' logins.
      { ...box.env, CI: 'true', CI_SEED: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', XDG_STATE_HOME: stateHome },
    ).done;
  });

  test('ftp: uploads the tree (minus --exclude), silent, exit 0', async () => {
    const r = await upload(
      [src, '--to', ftpUrl('site'), '--otp-reuse', 'allow', '--exclude', '*.log'],
      seedEnv(),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
    assertSameTree(join(server.home(server.users.totp.name), 'site'), expected());
  });

  test('ftp --json: one object; a second upload sends everything again', async () => {
    const r = await upload(
      [src, '--to', ftpUrl('site'), '--otp-reuse', 'allow', '--exclude', '*.log', '--json'],
      seedEnv(),
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.files, 3);
    assert.equal(
      j.bytes,
      [...expected().values()].reduce((n, b) => n + b.length, 0),
    );
    assert.equal(j.deleted, 0);
    assert.deepEqual(j.failed, []);
    assert.equal(typeof j.durationMs, 'number');
  });

  test('ftp -v prints one summary line', async () => {
    const v = await cli(['-v', 'upload', src, '--to', ftpUrl('site-v'), '--otp-reuse', 'allow'], {
      ...box.env,
      CI: 'true',
      ...seedEnv(),
    });
    assertNoLeak(v);
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, /^uploaded 4 file\(s\) \(\d+ bytes\), deleted 0, 0 failed, \d+ ms\n$/);
  });

  test('ftp --delete mirrors, capped at half unless --force', async () => {
    const remote = join(server.home(server.users.totp.name), 'mirror');
    // The files to be deleted are put there by an upload (the server owns what is in its homes).
    const old = join(box.dir, 'old');
    mkdirSync(old);
    for (const n of ['a', 'b', 'c', 'd']) writeFileSync(join(old, `${n}.txt`), n);
    const seeded = await upload([old, '--to', ftpUrl('mirror/old'), '--otp-reuse', 'allow'], seedEnv());
    assert.equal(seeded.status, 0, seeded.stderr);
    // 4 of 7 remote files would go: more than half → refused (exit 3), nothing deleted.
    const base = [src, '--to', ftpUrl('mirror'), '--otp-reuse', 'allow', '--exclude', '*.log', '--delete'];
    const capped = await upload([...base, '--json'], seedEnv());
    assert.equal(capped.status, 3, capped.stderr);
    assert.equal(JSON.parse(capped.stdout).deleted, 0);
    assert.equal(readTree(join(remote, 'old')).size, 4);
    const forced = await upload([...base, '--force', '--json'], seedEnv());
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).deleted, 4);
    assertSameTree(remote, expected());
  });

  test('--dry-run lists the files and changes nothing (no login)', async () => {
    // Port 1 has no server: a dry run without --delete must not connect.
    const r = await upload([src, '--to', `ftp://someone@127.0.0.1:1/x`, '--dry-run', '--exclude', '*.log'], {
      OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /would upload 3, delete 0/);
    assert.match(r.stdout, /\+ assets\/img\/logo\.bin/);
  });

  test('explicit FTPS with --ca', async () => {
    const url = `ftpes://${server.users.totp.name}@127.0.0.1:${server.ports.ftps}/tls`;
    const r = await upload(
      [src, '--to', url, '--ca', server.caCertPath, '--otp-reuse', 'allow', '--exclude', '*.log'],
      seedEnv(),
    );
    assert.equal(r.status, 0, r.stderr);
    assertSameTree(join(server.home(server.users.totp.name), 'tls'), expected());
  });

  test('FTPS without --ca: the certificate is refused (exit 1)', async () => {
    const url = `ftpes://${server.users.totp.name}@127.0.0.1:${server.ports.ftps}/untrusted`;
    const r = await upload([src, '--to', url, '--otp-reuse', 'allow'], seedEnv());
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /certificate/i);
  });

  test('HOTP with --hotp-counter-file: the file is advanced', async () => {
    const h = server.users.hotp;
    const counterFile = join(box.dir, 'hotp-counter');
    writeFileSync(counterFile, `${h.counter}\n`);
    const url = `ftp://${h.name}@127.0.0.1:${server.ports.hotp}/hotp`;
    const r = await upload([src, '--to', url, '--hotp-counter-file', counterFile, '--exclude', '*.log'], {
      OTPBACKUP_TOTP_SECRET: h.secret,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(counterFile, 'utf8').trim(), String(h.counter + 1));
    assert.ok((await server.hotpCounter()) > h.counter, 'the server accepted the code and moved on');
    assertSameTree(join(server.home(h.name), 'hotp'), expected());
  });

  test('sftp keyboard-interactive with --host-key', async () => {
    const u = server.users.totp;
    const url = `sftp://${u.name}@127.0.0.1:${server.ports.sftpKbd}/sftp`;
    // Named variables instead of the defaults; without them the seed is missing (exit 2).
    const r = await upload([src, '--to', url, '--host-key', server.sshHostKeyFingerprint], {
      CI_PW: u.password,
      CI_SEED2: u.secret,
    });
    assert.equal(r.status, 2, r.stderr);
    const ok = await upload(
      [
        src,
        '--to',
        url,
        '--host-key',
        server.sshHostKeyFingerprint,
        '--otp-reuse',
        'allow',
        '--exclude',
        '*.log',
        '--password-env',
        'CI_PW',
        '--totp-secret-env',
        'CI_SEED2',
      ],
      { CI_PW: u.password, CI_SEED2: u.secret },
    );
    assert.equal(ok.status, 0, ok.stderr);
    assertSameTree(join(server.home(u.name), 'sftp'), expected());
  });

  test('sftp --key: publickey, then the code by keyboard-interactive (--prompt rule)', async () => {
    const m = server.users.multi;
    secrets.push(m.secret, m.password);
    const url = `sftp://${m.name}@127.0.0.1:${server.ports.sftpMulti}/keyed`;
    const r = await upload(
      [
        src,
        '--to',
        url,
        '--key',
        server.clientKeyPath,
        '--host-key',
        server.sshHostKeyFingerprint,
        '--prompt',
        '(code|token|one-time|verification)=${TOTP}',
        '--otp-reuse',
        'allow',
      ],
      { OTPBACKUP_TOTP_SECRET: m.secret },
    );
    assert.equal(r.status, 0, r.stderr);
    assertSameTree(join(server.home(m.name), 'keyed'), readTree(src));
  });

  test('--account NAME --remote-dir DIR uses the configured account', async () => {
    const u = server.users.totp;
    const add = await cli(
      ['account', 'add', 'deploy', '--url', ftpUrl(''), '--totp-secret-env', 'E2E_SEED', '--store', 'vault'],
      { ...box.env, E2E_SEED: u.secret, CI: 'true' },
    );
    assert.equal(add.status, 0, add.stderr);
    const r = await upload([
      src,
      '--account',
      'deploy',
      '--remote-dir',
      'via-account',
      '--otp-reuse',
      'allow',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assertSameTree(join(server.home(u.name), 'via-account'), readTree(src));
    // --delete below the login directory (a relative root); an excluded remote file is kept.
    writeFileSync(join(src, 'extra.txt'), 'extra\n');
    await upload([src, '--account', 'deploy', '--remote-dir', 'via-account', '--otp-reuse', 'allow']);
    rmSync(join(src, 'extra.txt'));
    const del = await upload([
      src,
      '--account',
      'deploy',
      '--remote-dir',
      'via-account',
      '--otp-reuse',
      'allow',
      '--exclude',
      '*.log',
      '--delete',
      '--json',
    ]);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(JSON.parse(del.stdout).deleted, 1, 'extra.txt');
    assertSameTree(join(server.home(u.name), 'via-account'), readTree(src));
    const bad = await upload([src, '--account', 'nosuch']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /nosuch/);
  });

  // #13.1: the remote root of a URL without a path was ".", and every file was refused with
  // "manifest entry … points outside .". ProFTPD chroots its users, so the login directory is the home.
  describe('the login directory (no path in the URL, no --remote-dir)', () => {
    let top: string;
    const landed = (user: string, tag: string) => {
      const home = server.home(user);
      assert.equal(readFileSync(join(home, `login-${tag}.txt`), 'utf8'), `${tag}\n`);
      assert.equal(readFileSync(join(home, `login-${tag}`, 'inner.txt'), 'utf8'), `inner ${tag}\n`);
      assert.deepEqual(tempNames(home), [], 'no temp names remain');
    };
    const tree = (tag: string) => {
      top = join(box.dir, `login-src-${tag}`);
      mkdirSync(join(top, `login-${tag}`), { recursive: true });
      writeFileSync(join(top, `login-${tag}.txt`), `${tag}\n`);
      writeFileSync(join(top, `login-${tag}`, 'inner.txt'), `inner ${tag}\n`);
      return top;
    };

    for (const [tag, path] of [
      ['ftp-slash', '/'],
      ['ftp-bare', ''],
      ['ftp-tilde', '/~/'],
    ] as const) {
      test(`ftp: --to ftp://u@h:PORT${path} uploads into the login directory`, async () => {
        const url = `ftp://${server.users.totp.name}@127.0.0.1:${server.ports.ftp}${path}`;
        const r = await upload([tree(tag), '--to', url, '--otp-reuse', 'allow'], seedEnv());
        assert.equal(r.status, 0, r.stderr);
        landed(server.users.totp.name, tag);
      });
    }

    test('ftpes: --to ftpes://u@h:PORT/ uploads into the login directory', async () => {
      const url = `ftpes://${server.users.totp.name}@127.0.0.1:${server.ports.ftps}/`;
      const r = await upload(
        [tree('ftpes'), '--to', url, '--ca', server.caCertPath, '--otp-reuse', 'allow'],
        seedEnv(),
      );
      assert.equal(r.status, 0, r.stderr);
      landed(server.users.totp.name, 'ftpes');
    });

    for (const [tag, path] of [
      ['sftp-slash', '/'],
      ['sftp-tilde', '/~/'],
    ] as const) {
      test(`sftp: --to sftp://u@h:PORT${path} uploads into the login directory`, async () => {
        const u = server.users.totp;
        const url = `sftp://${u.name}@127.0.0.1:${server.ports.sftpKbd}${path}`;
        const r = await upload(
          [tree(tag), '--to', url, '--host-key', server.sshHostKeyFingerprint, '--otp-reuse', 'allow'],
          { ...seedEnv(), OTPBACKUP_PASSWORD: u.password },
        );
        assert.equal(r.status, 0, r.stderr);
        landed(u.name, tag);
      });
    }

    test("--account NAME without --remote-dir uploads into the account's (login) directory", async () => {
      const u = server.users.totp;
      const add = await cli(
        [
          'account',
          'add',
          'home-ftp',
          '--url',
          ftpUrl(''),
          '--totp-secret-env',
          'E2E_SEED',
          '--store',
          'vault',
          '--otp-reuse',
          'allow',
        ],
        { ...box.env, E2E_SEED: u.secret, CI: 'true' },
      );
      assert.equal(add.status, 0, add.stderr);
      const r = await upload([tree('account'), '--account', 'home-ftp', '--otp-reuse', 'allow']);
      assert.equal(r.status, 0, r.stderr);
      landed(u.name, 'account');
    });
  });

  test('sftp with an unknown host key is refused (exit 1), never asked', async () => {
    const u = server.users.totp;
    const url = `sftp://${u.name}@127.0.0.1:${server.ports.sftpKbd}/nope`;
    const r = await upload([src, '--to', url, '--otp-reuse', 'allow'], {
      ...seedEnv(),
      OTPBACKUP_PASSWORD: u.password,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /host key/i);
  });

  test('a wrong seed: exit 4, the refusal explained, no secret in the output', async () => {
    const r = await wrongSeed;
    assertNoLeak(r);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('JBSWY3DPEHPK3PXP'));
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stderr, /refused/i);
  });
});

// ProFTPD chroots its SFTP users, so "/" is their home there. Most SSH servers do not: the home is a
// real path such as /home/alice, `sftp://host/dir` is the absolute /dir and `sftp://host/~/dir` is below
// the home (#13.1). An in-process server (OpenSSH's sftp-server started in a temp "home") shows both.
describe('otpbackup upload over SFTP to a home that is not "/" (not chrooted)', {
  skip: requireTool('sftp-server'),
}, () => {
  let srv: SshServerHandle;
  let b: Sandbox;
  let home: string;
  let top: string;
  const asRoot = process.getuid?.() === 0;
  before(async () => {
    b = sandbox('otpbackup-upload-home-');
    // As root, sftp-server runs as nobody: a server account that may not write to "/", like a real one.
    const base = mkdtempSync(join(tmpdir(), 'otpbackup-sftphome-'));
    chmodSync(base, 0o755);
    home = join(base, 'alice');
    mkdirSync(home);
    if (asRoot) chownSync(home, 65534, 65534);
    srv = await startSshServer({
      style: 'sftpgo',
      root: home,
      ...(asRoot ? { runAs: { uid: 65534, gid: 65534 } } : {}),
    });
    top = join(b.dir, 'src');
    mkdirSync(join(top, 'd'), { recursive: true });
    writeFileSync(join(top, 'a.txt'), 'alpha\n');
    writeFileSync(join(top, 'd', 'b.txt'), 'bravo\n');
  });
  after(async () => {
    await srv?.stop();
    if (home) rmSync(join(home, '..'), { recursive: true, force: true });
    b?.cleanup();
  });
  const sftpUpload = async (path: string) => {
    const r = await cli(
      [
        'upload',
        top,
        '--to',
        `sftp://${srv.user}@127.0.0.1:${srv.port}${path}`,
        '--host-key',
        srv.hostKeyFingerprint,
        '--period',
        String(srv.period),
      ],
      { ...b.env, CI: 'true', OTPBACKUP_PASSWORD: srv.password, OTPBACKUP_TOTP_SECRET: srv.secret },
    );
    for (const x of [srv.password, srv.secret, ...srv.codes])
      assert.ok(!`${r.stdout}${r.stderr}`.includes(x), 'a secret leaked');
    return r;
  };
  const landed = (dir: string) => {
    assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'alpha\n');
    assert.equal(readFileSync(join(dir, 'd', 'b.txt'), 'utf8'), 'bravo\n');
    assert.deepEqual(tempNames(dir), [], 'no temp names remain');
  };

  test('sftp://u@h:PORT/ is the home directory', async () => {
    const r = await sftpUpload('/');
    assert.equal(r.status, 0, r.stderr);
    landed(home);
  });

  test('sftp://u@h:PORT/~/dir is below the home directory', async () => {
    const r = await sftpUpload('/~/below/home');
    assert.equal(r.status, 0, r.stderr);
    landed(join(home, 'below', 'home'));
  });

  test('sftp://u@h:PORT/abs/path is the absolute path', async () => {
    const r = await sftpUpload(`${home}/absolute`);
    assert.equal(r.status, 0, r.stderr);
    landed(join(home, 'absolute'));
  });

  test('a denied absolute path says it is absolute and shows the ~/ form', async () => {
    const dir = `otpbackup-denied-${process.pid}`; // the upload writes /dir and /dir/d
    const r = await sftpUpload(`/${dir}`);
    assert.notEqual(r.status, 0, r.stderr);
    assert.match(r.stderr, /permission denied/i);
    assert.match(r.stderr, new RegExp(`/${dir} is an absolute path`));
    assert.ok(r.stderr.includes(`sftp://${srv.user}@127.0.0.1:${srv.port}/~/${dir}`), r.stderr);
    assert.ok(r.stderr.includes(home), 'names the home directory');
    assert.equal(existsSync(`/${dir}`), false);
  });
});

describe('otpbackup upload usage errors (no server)', () => {
  let b: Sandbox;
  before(() => {
    b = sandbox('otpbackup-upload-usage-');
  });
  after(() => b.cleanup());
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    cli(['upload', ...args], { ...b.env, CI: 'true', ...env });

  test('a missing seed: exit 2; a name given is not echoed (it may be a pasted value), ours is', async () => {
    const r = await run(['.', '--to', 'ftp://u@127.0.0.1:1/x', '--totp-secret-env', 'MY_SEED']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--totp-secret-env: no environment variable of that name/);
    assert.doesNotMatch(r.stderr, /MY_SEED/);
    const d = await run(['.', '--to', 'ftp://u@127.0.0.1:1/x']);
    assert.equal(d.status, 2, d.stderr);
    assert.match(d.stderr, /OTPBACKUP_TOTP_SECRET/);
  });

  test('a missing --password-env variable: exit 2, the argument not echoed', async () => {
    const r = await run(['.', '--to', 'sftp://u@127.0.0.1:1/x', '--password-env', 'MY_PW'], {
      OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--password-env: no environment variable of that name/);
    assert.doesNotMatch(r.stderr, /MY_PW/);
  });

  test('a URL with a password is refused, and the password not echoed', async () => {
    const r = await run(['.', '--to', 'ftp://u:Sup3rS3cret@127.0.0.1:1/x'], {
      OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /password/);
    assert.ok(!`${r.stdout}${r.stderr}`.includes('Sup3rS3cret'));
  });

  test('no target: exit 2', async () => {
    const r = await run(['.']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--to/);
  });

  test('--connections: 1 to 16, FTP only; anything else is one line naming the flag, exit 2', async () => {
    const env = { OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' };
    for (const [to, n, why] of [
      ['ftp://u@127.0.0.1:1/x', '0', /--connections: expected 1 to 16, got 0/],
      ['ftp://u@127.0.0.1:1/x', 'four', /--connections: expected a whole number, got "four"/],
      ['sftp://u@127.0.0.1:1/x', '2', /--connections only applies to ftp/],
    ] as const) {
      const r = await run(['.', '--to', to, '--connections', n], env);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, why);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
