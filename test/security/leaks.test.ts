// Secrets never leak, proved with distinctive MARKER secrets across a matrix of commands run as users
// run them (the built CLI): account add (flags → vault; env: and cmd: references), account list /
// show / test, code, run (success, wrong password, wrong seed, server down), upload --json, status,
// job show — with -v, --debug, and --json where it exists — against an in-process FTP server
// (password + code) and the real ProFTPD (SFTP keyboard-interactive, explicit FTPS).
// Every run is checked: no marker and no current/adjacent one-time code in stdout, stderr, the log,
// any state or config file; none in /proc/PID/cmdline of the CLI or any process it starts (sampled
// every few ms while it runs; the `cmd:` secret helper is among them); files 0600, directories 0700.
// Keychain storage is covered by test/secrets/keychain.test.ts (a real Secret Service).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { editConfig, saveJob } from '../../src/config/save.js';
import {
  allowReuse,
  type CliRun,
  ROOT,
  readTree,
  type Sandbox,
  sandbox,
  start,
} from '../backup/e2e-helpers.js';
import { otpbackup } from '../cli/helpers.js';
import { assertNoSecrets, noteInvocation, registerSecrets, secretsIn } from '../leak-guard.js';
import { freePort } from '../servers/free-port.js';
import { type InprocessFtpHandle, startInprocessFtp } from '../servers/ftp-inprocess.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

// Distinctive markers: valid as what they stand for (the seed is Base32), unmistakable in any output.
const M = {
  password: 'MARKER-pw-5f1d7c-never-printed',
  seed: 'MARKERSEEDZQMARKERSEEDZQMARKERSE',
  wrongPassword: 'MARKER-wrongpw-a93e-never-printed',
  wrongSeed: 'MARKERWRONGSEEDQMARKERWRONGSEEDQ',
  passphrase: 'MARKER-vault-passphrase-77c2',
};
const URI = `otpauth://totp/Leak:alice?secret=${M.seed}&issuer=Leak&period=5`;
const MARKERS = [...Object.values(M), URI];
registerSecrets(...MARKERS);

interface Seed {
  seed: string;
  period: number;
}
/** Every code of these seeds from `fromMs - period` to `toMs + period` (the adjacent steps too). */
function codesBetween(seeds: Seed[], fromMs: number, toMs: number): string[] {
  const out = new Set<string>();
  for (const { seed, period } of seeds) {
    const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(seed), period, digits: 6 });
    for (let t = fromMs - period * 1000; t <= toMs + period * 1000; t += period * 1000) {
      out.add(totp.generate({ timestamp: t }));
    }
  }
  return [...out];
}
const codeIn = (text: string, codes: string[]) =>
  codes.filter((c) => new RegExp(`(?<!\\d)${c}(?!\\d)`).test(text));

// ---- /proc sampling: every process below the CLI, while it runs --------------------------------

function ppidOf(pid: string): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Polls /proc every few ms for descendants of `root`; records each one's argv (cmdline). */
function sampleDescendants(root: number): { stop(): Map<number, string>; ticks(): number } {
  const seen = new Map<number, string>();
  const family = new Set<number>([root]);
  const strangers = new Set<number>(); // pids already found outside the family: not read again
  let ticks = 0;
  const tick = () => {
    ticks++;
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e)) continue;
      const pid = Number(e);
      if (strangers.has(pid)) continue;
      if (!family.has(pid)) {
        const ppid = ppidOf(e);
        if (ppid === undefined) continue;
        if (!family.has(ppid)) {
          strangers.add(pid);
          continue;
        }
        family.add(pid);
      }
      try {
        const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
        if (argv) seen.set(pid, `${seen.get(pid) ?? ''} ${argv}`.trim().slice(0, 4000));
      } catch {}
    }
  };
  tick();
  const timer = setInterval(tick, 4);
  return {
    stop() {
      clearInterval(timer);
      return seen;
    },
    ticks: () => ticks,
  };
}

/** A wrapper command (e.g. dbus-run-session) that runs the CLI; output checked like start()'s. */
function startRaw(argv: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('close', (status, signal) => {
      try {
        assertNoSecrets(`${stdout}\n${stderr}`, `output of ${argv.join(' ')}`);
      } catch (e) {
        return reject(e);
      }
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { child, done };
}

// ---- the sandbox and the checks ------------------------------------------------------------------

let box: Sandbox;
let src: string;
/** Seeds whose codes must not appear (markers and the ProFTPD users'). */
const seeds: Seed[] = [];
/** Everything seen, for the summary and the final file scan. */
const allCmdlines = new Map<number, string>();
let runs = 0;
let firstMs = Date.now();

interface Observed extends CliRun {
  cmdlines: string[];
}

/** Runs the CLI, sampling its process tree; checks output, argv of every process, and state/config. */
async function observe(
  args: string[],
  extraEnv: NodeJS.ProcessEnv = {},
  allowCodeOnStdout = false,
  /** 'raw': args is a whole command line (a wrapper that runs the CLI), not CLI arguments. */
  mode: 'cli' | 'raw' = 'cli',
) {
  const env = { ...box.env, ...extraEnv };
  noteInvocation(args, env);
  const t0 = Date.now();
  const s = mode === 'raw' ? startRaw(args, env) : start(args, env);
  const sampler = sampleDescendants(s.child.pid!);
  let r: CliRun;
  try {
    r = await s.done; // the leak guard also checks every known secret in stdout/stderr
  } finally {
    const seen = sampler.stop();
    for (const [pid, argv] of seen) allCmdlines.set(pid, argv);
  }
  runs++;
  if (process.env.LEAKS_TIMING) console.log(`${Date.now() - t0} ms: ${args.join(' ')}`);
  const cmdlines = [...sampler.stop().values()];
  const where = `otpbackup ${args.join(' ')}`;
  const codes = codesBetween(seeds, t0, Date.now());
  assert.deepEqual(secretsIn(`${r.stdout}\n${r.stderr}`, MARKERS), [], `${where}: marker in output`);
  assert.deepEqual(codeIn(r.stderr, codes), [], `${where}: a one-time code on stderr: ${r.stderr}`);
  if (!allowCodeOnStdout) assert.deepEqual(codeIn(r.stdout, codes), [], `${where}: a code on stdout`);
  for (const argv of cmdlines) {
    assertNoSecrets(argv, `argv of a process started by ${where}`, MARKERS);
    assert.deepEqual(codeIn(argv, codes), [], `${where}: a code in a process argument list: ${argv}`);
  }
  checkFiles(where, codesBetween(seeds, firstMs, Date.now()));
  return { ...r, cmdlines } as Observed;
}

function walk(dir: string, out: { files: string[]; dirs: string[] }) {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  out.dirs.push(dir);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.files.push(p);
  }
  return out;
}

/** Config and state: no secret or code in any file; files 0600 and directories 0700. */
function checkFiles(where: string, codes: string[]) {
  const roots = [join(box.env.XDG_CONFIG_HOME!, 'otpbackup'), join(box.env.XDG_STATE_HOME!, 'otpbackup')];
  for (const root of roots) {
    const { files, dirs } = walk(root, { files: [], dirs: [] });
    for (const d of dirs) {
      assert.equal(statSync(d).mode & 0o777, 0o700, `${where}: directory ${d} is 0700`);
    }
    for (const f of files) {
      // Runs started in parallel may remove a lock or temp file between the listing and the read.
      let mode: number;
      let text: string;
      try {
        mode = statSync(f).mode & 0o777;
        text = readFileSync(f).toString('latin1');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      assert.equal(mode, 0o600, `${where}: file ${f} is 0600`);
      assertNoSecrets(text, `${where}: file ${f}`, MARKERS);
      assert.deepEqual(codeIn(text, codes), [], `${where}: a one-time code in ${f}`);
    }
  }
}

before(() => {
  firstMs = Date.now();
  box = sandbox('otpbackup-leaks-');
  box.env.OTPBACKUP_PASSPHRASE = M.passphrase;
  src = join(box.dir, 'src');
  for (const [rel, text] of Object.entries({ 'a.txt': 'alpha\n', 'sub/b.txt': 'bravo\n' })) {
    const p = join(src, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  seeds.push({ seed: M.seed, period: 5 }, { seed: M.wrongSeed, period: 5 });
});
after(() => box?.cleanup());

const FLAG_SETS: string[][] = [[], ['-v'], ['--debug']];

describe('in-process FTP (password + code), marker secrets', () => {
  let ftp: InprocessFtpHandle;
  before(async () => {
    // A code may be reused (banMs 0) so the runs below need not wait for fresh steps.
    ftp = await startInprocessFtp({ password: M.password, secret: M.seed, period: 5, banMs: 0 });
  });
  after(() => ftp?.stop());
  const url = () => `ftp://${ftp.user}@127.0.0.1:${ftp.port}/`;

  test('account add from flags (vault), tested live, with -v / --debug / --json', async () => {
    for (const [i, flags] of FLAG_SETS.entries()) {
      const r = await observe(
        [
          ...['account', 'add', `v${i}`, '--url', url(), '--password-env', 'LEAK_PW'],
          ...['--totp-secret-env', 'LEAK_SEED', '--period', '5', '--store', 'vault', '--otp-reuse', 'allow'],
          ...(i === 0 ? ['--json'] : []),
          ...flags,
        ],
        { LEAK_PW: M.password, LEAK_SEED: M.seed },
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const uri = await observe(
      ['account', 'add', 'uri', '--url', url(), '--password-env', 'LEAK_PW', '--otpauth-uri-env', 'LEAK_URI'],
      { LEAK_PW: M.password, LEAK_URI: URI },
    );
    assert.equal(uri.status, 0, uri.stderr);
    await allowReuse(box.env, 'uri');
  });

  test('env: and cmd: references; the cmd: helper process is sampled and its argv holds no secret', async () => {
    const pwFile = join(box.dir, 'pw.txt');
    writeFileSync(pwFile, `${M.password}\n`, { mode: 0o600 });
    // A helper that lives long enough for the sampler to see it.
    const script = join(box.dir, 'pw.sh');
    writeFileSync(script, `sleep 0.3\ncat ${pwFile}\n`);
    chmodSync(script, 0o700);
    await editConfig(box.env, undefined, (doc) => {
      const base = { protocol: 'ftp', host: '127.0.0.1', port: ftp.port, user: ftp.user };
      const otp = { secret: 'env:LEAK_SEED', period: 5, reuse: 'allow' };
      doc.setIn(['accounts', 'envref'], doc.createNode({ ...base, password: 'env:LEAK_PW', otp }));
      doc.setIn(['accounts', 'cmdref'], doc.createNode({ ...base, password: `cmd:/bin/sh ${script}`, otp }));
    });
    const env = { LEAK_PW: M.password, LEAK_SEED: M.seed };
    const e = await observe(['account', 'test', 'envref', '--json'], env);
    assert.equal(e.status, 0, e.stderr);
    const c = await observe(['account', 'test', 'cmdref', '--debug'], env);
    assert.equal(c.status, 0, c.stderr);
    assert.ok(
      c.cmdlines.some((a) => a.includes(script)),
      `the sampler saw the cmd: helper: ${c.cmdlines.join(' | ')}`,
    );
  });

  test('account list / show / test in text and --json, with -v and --debug', async () => {
    // Read-only commands (and logins the server lets reuse a code): all at once.
    const matrix = [[], ['--debug']].flatMap((flags) =>
      [
        ['account', 'list'],
        ['account', 'list', '--json'],
        ['account', 'show', 'v0'],
        ['account', 'show', 'uri', '--json'],
        ['account', 'test', 'v1'],
        ['account', 'test', 'v2', '--json'],
      ].map((args) => [...args, ...flags]),
    );
    const results = await Promise.all(matrix.map((args) => observe(args)));
    for (const [i, r] of results.entries()) assert.equal(r.status, 0, `${matrix[i]?.join(' ')}: ${r.stderr}`);
  });

  test('code: the code is the output, and nothing else secret is', async () => {
    const r = await observe(['code', 'v0', '--remaining'], {}, true);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d{6}\s*$/);
    const s = await observe(
      ['code', '--secret-env', 'LEAK_SEED', '--period', '5'],
      { LEAK_SEED: M.seed },
      true,
    );
    assert.equal(s.status, 0, s.stderr);
  });

  test('run: success, wrong password, wrong seed, server down — with -v, --debug and --json', async () => {
    const job = (name: string, account: string) =>
      saveJob(box.env, undefined, {
        name,
        account,
        sources: [src],
        remoteDir: name,
        schedule: '0 3 * * *',
        symlinks: 'skip',
        mode: 'mirror',
        delete: false,
        checksum: false,
      });
    const down = await freePort();
    // The failing runs: one account each per flag set, so the per-account limit on refused logins
    // (at most 3 a minute) never makes a run wait for the previous one's failures.
    const failing = [['-v'], ['--json', '--debug']];
    await editConfig(box.env, undefined, (doc) => {
      const base = { protocol: 'ftp', host: '127.0.0.1', port: ftp.port, user: ftp.user };
      const otp = { secret: 'env:LEAK_SEED', period: 5, reuse: 'allow' };
      for (const i of failing.keys()) {
        doc.setIn(
          ['accounts', `wrongpw${i}`],
          doc.createNode({ ...base, password: 'env:LEAK_WRONG_PW', otp }),
        );
        doc.setIn(
          ['accounts', `wrongseed${i}`],
          doc.createNode({
            ...base,
            password: 'env:LEAK_PW',
            otp: { ...otp, secret: 'env:LEAK_WRONG_SEED' },
          }),
        );
        doc.setIn(
          ['accounts', `down${i}`],
          doc.createNode({ ...base, port: down, password: 'env:LEAK_PW', otp }),
        );
      }
    });
    await job('ok', 'v0');
    for (const i of failing.keys()) {
      for (const k of ['wrongpw', 'wrongseed', 'down']) await job(`${k}${i}`, `${k}${i}`);
    }
    const env = {
      LEAK_PW: M.password,
      LEAK_SEED: M.seed,
      LEAK_WRONG_PW: M.wrongPassword,
      LEAK_WRONG_SEED: M.wrongSeed,
    };
    for (const flags of [...FLAG_SETS, ['--json', '--debug']]) {
      const ok = await observe(['run', '--job', 'ok', '--force', ...flags], env);
      assert.equal(ok.status, 0, ok.stderr);
    }
    // All at once (distinct accounts); server down retries with backoff for ~10 s: once is enough.
    const failed = await Promise.all(
      failing.flatMap((flags, i) => [
        observe(['run', '--job', `wrongpw${i}`, ...flags], env).then((r) => [4, r] as const),
        observe(['run', '--job', `wrongseed${i}`, ...flags], env).then((r) => [4, r] as const),
        ...(i === failing.length - 1
          ? [observe(['run', '--job', `down${i}`, ...flags], env).then((r) => [1, r] as const)]
          : []),
      ]),
    );
    for (const [want, r] of failed) assert.equal(r.status, want, r.stderr);
    assert.equal(readTree(join(ftp.root, 'ok')).get('a.txt')?.toString(), 'alpha\n');
    const reads = FLAG_SETS.flatMap((flags) =>
      [['status'], ['status', '--json'], ['job', 'show', 'ok'], ['job', 'show', 'wrongpw0']].map((args) => [
        ...args,
        ...flags,
      ]),
    );
    const results = await Promise.all(reads.map((args) => observe(args, env)));
    for (const [i, r] of results.entries()) assert.equal(r.status, 0, `${reads[i]?.join(' ')}: ${r.stderr}`);
  });

  test('upload --json, also with a wrong password', async () => {
    const env = { OTPBACKUP_PASSWORD: M.password, OTPBACKUP_TOTP_SECRET: M.seed, CI: 'true' };
    const up = ['upload', src, '--to', `${url()}up`, '--period', '5', '--otp-reuse', 'allow', '--json'];
    for (const flags of FLAG_SETS) {
      const r = await observe([...up, ...flags], env);
      assert.equal(r.status, 0, r.stderr);
      assert.ok(!/MARKER/.test(r.stdout), r.stdout);
    }
    const bad = await observe([...up, '--debug'], { ...env, OTPBACKUP_PASSWORD: M.wrongPassword });
    assert.equal(bad.status, 4, bad.stderr);
  });
});

const noKeyring = requireTool('dbus-run-session', 'gnome-keyring-daemon', 'dbus-send');

describe('keychain (gnome-keyring in a private D-Bus session)', { skip: noKeyring }, () => {
  test('account add --store keychain, account show --json, code: nothing leaks', async () => {
    const home = join(box.dir, 'keyring-home');
    mkdirSync(join(home, 'run'), { recursive: true, mode: 0o700 });
    // The keyring password goes through stdin (printf is a shell builtin: in no argv).
    const script = join(box.dir, 'keychain.sh');
    writeFileSync(
      script,
      [
        "printf '%s' 'throwaway-keyring-pw' | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>&1 &",
        'KR=$!',
        'i=0',
        "until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do",
        '  i=$((i+1)); [ $i -gt 150 ] && exit 97; sleep 0.1',
        'done',
        'sleep 0.3',
        'node bin/otpbackup account add kc --url ftp://u@127.0.0.1:1/ --password-env LEAK_PW --totp-secret-env LEAK_SEED --store keychain --no-test --json -v || exit 1',
        'node bin/otpbackup account show kc --json || exit 2',
        'node bin/otpbackup code kc || exit 3',
        'kill $KR',
        '',
      ].join('\n'),
    );
    const r = await observe(
      ['dbus-run-session', '--', 'sh', script],
      {
        HOME: home,
        XDG_RUNTIME_DIR: join(home, 'run'),
        XDG_DATA_HOME: join(home, 'data'),
        LEAK_PW: M.password,
        LEAK_SEED: M.seed,
      },
      true,
      'raw',
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /keychain/);
    const config = readFileSync(join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml'), 'utf8');
    assert.match(config, /password: keychain:/);
    assert.ok(
      r.cmdlines.some((a) => a.includes('gnome-keyring-daemon')),
      r.cmdlines.join(' | '),
    );
  });
});

describe('ProFTPD: SFTP keyboard-interactive and explicit FTPS', { skip: missing }, () => {
  let server: ProftpdHandle;
  before(async () => {
    server = await startProftpd();
    const u = server.users.totp;
    seeds.push({ seed: u.secret, period: 30 });
  });
  after(() => server?.stop());

  test('account add (sftp, ftps), account test, run and upload with --debug: nothing leaks', async () => {
    const u = server.users.totp;
    const env = { P_SEED: u.secret, P_PW: u.password };
    const sftp = await observe(
      [
        ...['account', 'add', 'psftp', '--url', `sftp://${u.name}@127.0.0.1:${server.ports.sftpKbd}/`],
        ...['--totp-secret-env', 'P_SEED', '--password-env', 'P_PW', '--store', 'vault'],
        ...['--trust-host-key', server.sshHostKeyFingerprint, '--otp-reuse', 'allow', '--debug'],
      ],
      env,
    );
    assert.equal(sftp.status, 0, sftp.stderr);
    const ftps = await observe(
      [
        ...['account', 'add', 'pftps', '--url', `ftpes://${u.name}@127.0.0.1:${server.ports.ftps}/`],
        ...['--totp-secret-env', 'P_SEED', '--template', '${OTP}', '--store', 'vault'],
        ...['--trust-host-key', server.tlsCertFingerprint, '--otp-reuse', 'allow', '-v'],
      ],
      env,
    );
    assert.equal(ftps.status, 0, ftps.stderr);
    for (const name of ['psftp', 'pftps']) {
      const t = await observe(['account', 'test', name, '--json', '--debug']);
      assert.equal(t.status, 0, t.stderr);
      await saveJob(box.env, undefined, {
        name: `job-${name}`,
        account: name,
        sources: [src],
        remoteDir: name,
        schedule: '0 3 * * *',
        symlinks: 'skip',
        mode: 'mirror',
        delete: false,
        checksum: false,
      });
      const r = await observe(['run', '--job', `job-${name}`, '--force', '--debug', '-v']);
      assert.equal(r.status, 0, r.stderr);
    }
    const up = await observe(
      [
        ...['upload', src, '--to', `sftp://${u.name}@127.0.0.1:${server.ports.sftpKbd}/up`],
        ...['--host-key', server.sshHostKeyFingerprint, '--otp-reuse', 'allow', '--json', '--debug'],
      ],
      { OTPBACKUP_TOTP_SECRET: u.secret, OTPBACKUP_PASSWORD: u.password, CI: 'true' },
    );
    assert.equal(up.status, 0, up.stderr);
    assert.equal(
      readTree(join(server.home(u.name), 'up'))
        .get('a.txt')
        ?.toString(),
      'alpha\n',
    );
  });
});

describe('the checks themselves can fail', () => {
  test('the whole-suite guard rejects CLI output holding a registered secret (both helpers)', async () => {
    const canary = `CANARY-registered-${process.pid}`;
    registerSecrets(canary);
    // The account name is echoed in the error: harmless here, but registered as a secret.
    await assert.rejects(
      start(['account', 'show', canary], box.env).done,
      /secret leak: output of otpbackup/,
    );
    assert.throws(
      () => otpbackup(['account', 'show', canary], { env: { HOME: box.env.HOME! } }),
      /secret leak/,
    );
  });

  test('secrets handed through env names and --*-env flags are registered; public examples are not', () => {
    noteInvocation(['--password-env', 'ODD_NAME'], {
      ODD_NAME: 'flag-named-secret-value',
      MY_SEED: 'env-named-seed-value',
    });
    assert.deepEqual(secretsIn('x flag-named-secret-value y env-named-seed-value').sort(), [
      'env-named-seed-value',
      'flag-named-secret-value',
    ]);
    noteInvocation([], { EXAMPLE_SEED: 'JBSWY3DPEHPK3PXP', SHORT_PW: 'abc' });
    assert.deepEqual(secretsIn('JBSWY3DPEHPK3PXP abc'), []);
  });

  test('the /proc sampler sees a short-lived grandchild and its argv', async () => {
    const canary = `CANARY-argv-${process.pid}`;
    const child = spawn('/bin/sh', ['-c', `sleep 0.2; /bin/echo ${canary} >/dev/null; sleep 0.1`]);
    const sampler = sampleDescendants(child.pid!);
    await new Promise((r) => child.on('close', r));
    const argv = [...sampler.stop().values()].join(' | ');
    assert.ok(argv.includes('sleep 0.2'), argv);
    assert.throws(() => assertNoSecrets(argv, 'argv', [canary]), /secret leak/);
  });
});

test('summary: processes sampled, nothing leaked in the whole run', () => {
  assert.ok(runs > 0);
  // The sampler saw the CLI itself every time, plus the cmd: helper.
  assert.ok(allCmdlines.size >= runs, `${allCmdlines.size} processes for ${runs} runs`);
  console.log(`leaks: ${runs} CLI runs, ${allCmdlines.size} processes sampled, 0 leaks`);
});
