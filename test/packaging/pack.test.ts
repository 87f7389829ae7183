// The package as a user gets it: `npm pack` of the clean tree (what git holds, no dist/), the
// tarball installed into a temporary global prefix (`npm install -g --prefix`), and the installed
// `otpbackup` run: --version, `code`, and one real upload to ProFTPD. Guards the prepare/prepack
// scripts and the `files` list: a tarball without dist/ (or with source maps but no sources) fails
// here. Dependencies come from the npm cache or the registry (--prefer-offline). Skipped locally
// when npm, git or ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { ROOT } from '../cli/helpers.js';
import { assertNoSecrets, noteInvocation } from '../leak-guard.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('npm', 'git', 'proftpd');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

let box: Sandbox;
let server: ProftpdHandle;
let tarball: string;
let packed: string[];
let installed: string;

/** npm with a quiet, bounded run; throws with its output on failure. */
function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--no-update-notifier'], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    // This user's HOME (the npm cache --prefer-offline reads), but none of the npm_* settings an
    // enclosing `npm test` exports: its local prefix would point npm at this checkout.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))),
      npm_config_loglevel: 'warn',
    },
  });
  assert.equal(r.status, 0, `npm ${args.join(' ')}: ${r.error ?? ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The installed binary, run like a user would: its own HOME, nothing of this checkout. */
function otpbackup(args: string[], env: NodeJS.ProcessEnv = {}) {
  const e = { ...box.env, ...env };
  noteInvocation(args, e);
  const r = spawnSync(installed, args, { cwd: box.dir, env: e, encoding: 'utf8', timeout: 60_000 });
  assertNoSecrets(`${r.stdout}\n${r.stderr}`, `output of the installed otpbackup ${args[0]}`);
  return r;
}

before(async () => {
  if (missing) return;
  box = sandbox('otpbackup-pack-');
  const serverStarted = startProftpd();
  // The clean tree: the files git tracks (and new ones it does not ignore), without dist/ or any
  // other build output of this checkout. node_modules is linked so `prepare` builds offline.
  const tree = join(box.dir, 'tree');
  const ls = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(ls.status, 0, ls.stderr);
  for (const f of ls.stdout.split('\0').filter(Boolean)) {
    let data: Buffer;
    try {
      data = readFileSync(join(ROOT, f));
    } catch {
      continue; // deleted in the work tree but not yet in the index
    }
    mkdirSync(dirname(join(tree, f)), { recursive: true });
    writeFileSync(join(tree, f), data, { mode: f.startsWith('bin/') ? 0o755 : 0o644 });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  const out = npm(['pack', '--json', '--pack-destination', box.dir], tree);
  const info = JSON.parse(out.slice(out.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  tarball = join(box.dir, info[0]!.filename);
  packed = info[0]!.files.map((f) => f.path);
  const prefix = join(box.dir, 'prefix');
  // --ignore-scripts: otpbackup has no install script of its own (`prepare` runs only for git and
  // directory installs); what it skips is the optional native builds of ssh2 and cpu-features
  // (25 s of compiling here, and package.json's allowScripts refuses them too). ssh2 runs without.
  npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', tarball], box.dir);
  installed = join(prefix, 'bin', 'otpbackup');
  server = await serverStarted;
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

describe('npm pack → npm install -g → otpbackup', { skip: missing }, () => {
  test('the tarball holds the built CLI, the license and no source maps or sources', () => {
    for (const f of [
      'bin/otpbackup',
      'dist/cli/entry.js',
      'dist/otpbackup.1',
      'LICENSE',
      'README.md',
      'package.json',
    ])
      assert.ok(packed.includes(f), `${f} is in the tarball (${packed.length} files)`);
    assert.deepEqual(
      packed.filter((f) => /\.map$|\.ts$|^(src|test|bench|scripts)\//.test(f)),
      [],
      'no maps, no TypeScript, no tests',
    );
  });

  test('--version is the package version', () => {
    const r = otpbackup(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });

  test('code: the RFC 6238 test vector (SHA-1, 8 digits, T = 1111111111)', () => {
    // RFC 6238 appendix B seed "12345678901234567890" in Base32.
    const r = otpbackup(['code', '--secret-env', 'RFC_SEED', '--digits', '8', '--at', '1111111111'], {
      RFC_SEED: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '14050471\n');
  });

  test('upload to ProFTPD over FTP with a TOTP login', () => {
    const src = join(box.dir, 'site');
    mkdirSync(join(src, 'css'), { recursive: true });
    writeFileSync(join(src, 'index.html'), '<h1>packed</h1>\n');
    writeFileSync(join(src, 'css', 'site.css'), Buffer.alloc(40_000, 7));
    const u = server.users.totp;
    const r = otpbackup(
      ['upload', src, '--to', `ftp://${u.name}@127.0.0.1:${server.ports.ftp}/packed`, '--otp-reuse', 'allow'],
      { CI: 'true', OTPBACKUP_TOTP_SECRET: u.secret },
    );
    assert.equal(r.status, 0, r.stderr);
    const got = readTree(join(server.home(u.name), 'packed'));
    assert.deepEqual([...got.keys()].sort(), ['css/site.css', 'index.html']);
    assert.ok(got.get('css/site.css')?.equals(Buffer.alloc(40_000, 7)));
  });
});
