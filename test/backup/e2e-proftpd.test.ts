// `otpbackup run` end to end, as a user runs it: the built CLI in a child process, an account created
// with `account add` (secrets in the vault), a job over a temp source tree, against the real ProFTPD
// (FTP with the code alone as PASS; SFTP keyboard-interactive, host key pinned). Skipped locally
// when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lockPath } from '../../src/backup/run-due.js';
import { saveJob } from '../../src/config/save.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';
import {
  allowReuse,
  type CliRun,
  cli,
  filesContaining,
  notPrivate,
  readTree,
  type Sandbox,
  sandbox,
  start,
  tempNames,
} from './e2e-helpers.js';

const missing = requireTool('proftpd');

let server: ProftpdHandle;
let box: Sandbox;
let secrets: string[];

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-e2e-');
  const u = server.users.totp;
  secrets = [u.secret, u.password];
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

/** The CLI, with the leak check every call gets. */
async function run(args: string[]): Promise<CliRun> {
  const r = await cli(args, box.env);
  for (const s of secrets) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret leaked in the output of ${args[0]}`);
  }
  return r;
}

function writeSources(src: string) {
  mkdirSync(join(src, 'sub/deep'), { recursive: true });
  mkdirSync(join(src, 'cache'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'sub/b.txt'), 'bravo\n');
  writeFileSync(join(src, 'sub/deep/c.bin'), Buffer.alloc(200_000, 7));
  writeFileSync(join(src, 'sub/gone.txt'), 'to be deleted\n');
  writeFileSync(join(src, 'skip.log'), 'excluded by pattern\n');
  writeFileSync(join(src, 'cache/x.dat'), 'excluded directory\n');
}

/** What the server should hold: the sources minus the excluded ones. */
function expected(src: string): Map<string, Buffer> {
  const t = readTree(src);
  for (const k of [...t.keys()]) if (k.endsWith('.log') || k.startsWith('cache/')) t.delete(k);
  return t;
}

function assertSameTree(remote: string, src: string) {
  const got = readTree(remote);
  const want = expected(src);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), 'the same file names');
  for (const [k, v] of want) assert.ok(got.get(k)?.equals(v), `${k}: same bytes`);
  assert.deepEqual(tempNames(remote), [], 'no temp names remain');
}

async function jsonRun(job: string) {
  const r = await run(['run', '--job', job, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout).jobs[0] as {
    files: number;
    deleted: number;
    unchanged: number;
    outcome: string;
  };
}

interface Scenario {
  name: string;
  url: (p: ProftpdHandle) => string;
  extraArgs: (p: ProftpdHandle) => string[];
}

const scenarios: Scenario[] = [
  {
    name: 'ftp',
    url: (p) => `ftp://${p.users.totp.name}@127.0.0.1:${p.ports.ftp}/`,
    // mod_auth_otp after USER: PASS carries the code alone.
    extraArgs: () => ['--template', '${OTP}'],
  },
  {
    name: 'sftp',
    url: (p) => `sftp://${p.users.totp.name}@127.0.0.1:${p.ports.sftpKbd}/`,
    extraArgs: (p) => ['--password-env', 'E2E_PASSWORD', '--trust-host-key', p.sshHostKeyFingerprint],
  },
];

for (const sc of scenarios) {
  describe(`otpbackup run end to end over ${sc.name} (ProFTPD)`, { skip: missing }, () => {
    const job = `${sc.name}-docs`;
    let src: string;
    let remote: string;

    before(async () => {
      src = join(box.dir, `src-${sc.name}`);
      writeSources(src);
      remote = join(server.home(server.users.totp.name), `backup-${sc.name}`);
      const u = server.users.totp;
      // The seed and password reach `account add` only through the environment.
      const add = await cli(
        [
          'account',
          'add',
          sc.name,
          '--url',
          sc.url(server),
          '--totp-secret-env',
          'E2E_SEED',
          '--store',
          'vault',
          '--no-test',
          ...sc.extraArgs(server),
        ],
        { ...box.env, E2E_SEED: u.secret, E2E_PASSWORD: u.password },
      );
      assert.equal(add.status, 0, add.stderr);
      await allowReuse(box.env, sc.name);
      await saveJob(box.env, undefined, {
        name: job,
        account: sc.name,
        sources: [src],
        exclude: ['*.log', 'cache/'],
        remoteDir: `backup-${sc.name}`,
        schedule: '0 3 * * *',
        symlinks: 'skip',
        mode: 'mirror',
        delete: true,
        checksum: false,
      });
    });

    test('first run uploads everything, silently, exit 0', async () => {
      const r = await run(['run', '--job', job]);
      assert.equal(r.status, 0, `exit ${r.status}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'no output on success');
      assert.equal(r.stderr, '', 'no output on success');
      assertSameTree(remote, src);
    });

    test('second run uploads nothing', async () => {
      const j = await jsonRun(job);
      assert.equal(j.outcome, 'ok');
      assert.equal(j.files, 0);
      assert.equal(j.deleted, 0);
      assert.equal(j.unchanged, 4);
    });

    test('add, modify, delete: exactly those are transferred', async () => {
      writeFileSync(join(src, 'new.txt'), 'new file\n');
      writeFileSync(join(src, 'sub/b.txt'), 'bravo, modified and longer\n');
      rmSync(join(src, 'sub/gone.txt'));
      writeFileSync(join(src, 'more.log'), 'still excluded\n');
      const j = await jsonRun(job);
      assert.equal(j.files, 2, 'new.txt and sub/b.txt');
      assert.equal(j.deleted, 1, 'sub/gone.txt');
      assert.equal(j.unchanged, 2);
      assertSameTree(remote, src);
      assert.equal((await jsonRun(job)).files, 0, 'and then nothing again');
    });

    test('two runs of the same job at once: one exits 5', async () => {
      // Stop the first run once it holds the lock, so the second surely meets it; then let it go on.
      const first = start(['run', '--job', job, '--force'], box.env);
      const lock = lockPath(box.env, job);
      const deadline = Date.now() + 20_000;
      while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.ok(existsSync(lock), 'the first run takes the lock');
      first.child.kill('SIGSTOP');
      let b: CliRun;
      try {
        b = await start(['run', '--job', job], box.env).done;
      } finally {
        first.child.kill('SIGCONT');
      }
      const a = await first.done;
      assert.equal(a.status, 0, a.stderr);
      assert.equal(b.status, 5, b.stderr);
      assert.ok(!existsSync(lock), 'the lock is released');
      assert.match(b.stderr, /lock|running/i);
      for (const s of secrets) assert.ok(!`${a.stdout}${a.stderr}${b.stdout}${b.stderr}`.includes(s));
      assertSameTree(remote, src);
    });

    // Names that are not valid UTF-8 (#14.2): test/backup/raw-names.test.ts, on every server.

    test('no secret in config or state; config and state files are 0600', () => {
      const cfg = join(box.env.XDG_CONFIG_HOME!, 'otpbackup');
      const state = join(box.env.XDG_STATE_HOME!, 'otpbackup');
      assert.equal(statSync(join(cfg, 'config.yaml')).mode & 0o777, 0o600);
      assert.deepEqual(notPrivate(cfg), []);
      assert.deepEqual(notPrivate(state), []);
      assert.deepEqual(filesContaining(box.dir, secrets), [], 'no file holds a secret in clear');
    });
  });
}

// #13.1: an account added with a URL ending in "/" (remoteDir ".") and a job whose remote directory is
// the login directory itself ("." or "~"): every file was refused ("points outside ."). ProFTPD chroots
// each user, so the login directory is the user's home on disk.
for (const sc of scenarios) {
  describe(`otpbackup run into the login directory over ${sc.name} (ProFTPD)`, { skip: missing }, () => {
    let src: string;
    let home: string;
    const tag = `top-${sc.name}`;

    before(async () => {
      src = join(box.dir, `src-login-${sc.name}`);
      mkdirSync(join(src, `${tag}-dir`), { recursive: true });
      writeFileSync(join(src, `${tag}.txt`), `${tag}\n`);
      writeFileSync(join(src, `${tag}-dir`, 'inner.txt'), 'inner\n');
      writeFileSync(join(src, `${tag}-gone.txt`), 'to be deleted\n');
      home = server.home(server.users.totp.name);
      const u = server.users.totp;
      const add = await cli(
        [
          'account',
          'add',
          `${sc.name}-home`,
          '--url',
          sc.url(server),
          '--totp-secret-env',
          'E2E_SEED',
          '--store',
          'vault',
          '--otp-reuse',
          'allow',
          '--no-test',
          ...sc.extraArgs(server),
        ],
        { ...box.env, E2E_SEED: u.secret, E2E_PASSWORD: u.password },
      );
      assert.equal(add.status, 0, add.stderr);
      const show = await run(['account', 'show', `${sc.name}-home`, '--json']);
      assert.equal(
        JSON.parse(show.stdout).account.remoteDir,
        '.',
        'a URL ending in "/" is the login directory',
      );
    });

    for (const dir of ['.', '~']) {
      test(`a job with --remote-dir ${dir} uploads into the login directory, then mirrors a delete`, async () => {
        const job = `${sc.name}-home-${dir === '.' ? 'dot' : 'tilde'}`;
        const add = await run([
          'job',
          'add',
          job,
          '--account',
          `${sc.name}-home`,
          '--source',
          src,
          '--remote-dir',
          dir,
          '--delete',
        ]);
        assert.equal(add.status, 0, add.stderr);
        writeFileSync(join(src, `${tag}-gone.txt`), 'to be deleted\n');
        const first = await jsonRun(job);
        assert.equal(first.outcome, 'ok');
        assert.equal(first.files, 3);
        assert.equal(readFileSync(join(home, `${tag}.txt`), 'utf8'), `${tag}\n`);
        assert.equal(readFileSync(join(home, `${tag}-dir`, 'inner.txt'), 'utf8'), 'inner\n');
        rmSync(join(src, `${tag}-gone.txt`));
        const second = await jsonRun(job);
        assert.equal(second.deleted, 1, 'the deleted file is removed from the login directory');
        assert.equal(existsSync(join(home, `${tag}-gone.txt`)), false);
        assert.equal(existsSync(join(home, `${tag}.txt`)), true, 'the rest stays');
        assert.deepEqual(
          readdirSync(home).filter((n) => n.includes('.otpbackup-tmp-')),
          [],
          'no temp names remain',
        );
      });
    }

    test('account test writes and removes its probe file in the login directory', async () => {
      const r = await run(['account', 'test', `${sc.name}-home`, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const probe = JSON.parse(r.stdout).probe as string;
      assert.match(probe, /^(\/)?\.otpbackup-probe-/, probe);
      assert.deepEqual(
        readdirSync(home).filter((n) => n.startsWith('.otpbackup-probe-')),
        [],
        'the probe file is removed',
      );
    });
  });
}
