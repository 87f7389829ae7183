// What the help and the output promise (issue #13.5 and .7), spawned as users run the CLI: one JSON
// document on failure too, no secret echoed from a misused --…-env flag, one digits limit, templates
// that carry a code, no secret in a child's environment, short vault passphrases refused, and a
// missing keychain in one line.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { otpbackup } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-promises-'));
after(() => rmSync(home, { recursive: true, force: true }));
const SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';
const PW = 'pw-Secret-42';
const base = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'cfg'),
  XDG_STATE_HOME: join(home, 'state'),
  XDG_CACHE_HOME: join(home, 'cache'),
  OTPBACKUP_PASSPHRASE: 'vault-pass-phrase',
  SEED,
  PW,
};
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');
const run = (args: string[], env: Record<string, string> = {}) =>
  otpbackup(args, { env: { ...base, ...env } });

/** The one JSON document on stdout of a failed --json command. */
function failureDoc(r: { status: number | null; stdout: string; stderr: string }, code: string) {
  assert.notEqual(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  let doc: { ok: boolean; exitCode: number; error: { code: string; message: string; hint?: string } };
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    assert.fail(`stdout is not one JSON document (${lines.length} lines):\n${r.stdout}\nstderr: ${r.stderr}`);
  }
  assert.equal(doc.ok, false);
  assert.equal(doc.exitCode, r.status);
  assert.equal(doc.error.code, code, JSON.stringify(doc));
  assert.ok(doc.error.message.length > 0);
  return doc;
}

describe('--json prints one document on failure as on success', () => {
  it('upload, account test, account add, job list, status, run, and a bad flag', () => {
    writeFileSync(join(home, 'f.txt'), 'x');
    // upload: the URL is wrong before any connection is made.
    const up = run(['upload', join(home, 'f.txt'), '--to', 'gopher://x@127.0.0.1/', '--json'], {
      OTPBACKUP_TOTP_SECRET: SEED,
    });
    const d = failureDoc(up, 'usage');
    assert.match(d.error.message, /--to/);
    // account test of an account whose seed is not in the vault (added with --no-test, then lost).
    const add = run(
      ['account', 'add', 'lost', '--url', 'ftp://u@127.0.0.1:1/', '--totp-secret-env', 'SEED'].concat([
        '--store',
        'vault',
        '--no-test',
        '--json',
      ]),
    );
    assert.equal(add.status, 0, add.stderr);
    assert.equal(JSON.parse(add.stdout).ok, true, 'success documents say ok: true');
    rmSync(join(home, 'cfg', 'otpbackup', 'vault.enc'));
    const t = failureDoc(run(['account', 'test', 'lost', '--json']), 'secret');
    assert.match(t.error.message, /vault:lost\/otp/);
    failureDoc(
      run(['account', 'add', 'lost', '--url', 'ftp://u@h/', '--totp-secret-env', 'SEED', '--json']),
      'usage',
    );
    failureDoc(run(['account', 'show', 'nobody', '--json']), 'usage');
    failureDoc(run(['job', 'show', 'nojob', '--json']), 'usage');
    failureDoc(run(['run', '--job', 'nojob', '--json']), 'usage');
    const bad = failureDoc(run(['account', 'list', '--json', '--bogus']), 'usage');
    assert.match(bad.error.message, /unknown option '--bogus'/);
    failureDoc(run(['watch', '--job', 'nojob', '--json']), 'usage');
    const st = run(['status', '--json']);
    assert.equal(st.status, 0, st.stderr);
    assert.equal(JSON.parse(st.stdout).ok, true);
    const sp = run(['schedule', 'print', '--json']);
    assert.equal(sp.status, 0, sp.stderr);
    assert.equal(JSON.parse(sp.stdout).ok, true);
    // The human line stays on stderr.
    assert.match(run(['account', 'show', 'nobody', '--json']).stderr, /^otpbackup: no account "nobody"/);
  });
});

describe('a secret given where a variable NAME belongs is never echoed', () => {
  const values = [SEED, 'JBSWY3DP', 'hunter2-not-a-name', PW];
  for (const [label, args] of [
    [
      'account add --totp-secret-env',
      (v: string) => ['account', 'add', 'e1', '--url', 'ftp://u@h/', '--totp-secret-env', v, '--no-test'],
    ],
    [
      'account add --otpauth-uri-env',
      (v: string) => ['account', 'add', 'e1', '--url', 'ftp://u@h/', '--otpauth-uri-env', v, '--no-test'],
    ],
    [
      'account add --password-env',
      (v: string) => [
        'account',
        'add',
        'e1',
        '--url',
        'ftp://u@h/',
        '--totp-secret-env',
        'SEED',
        '--password-env',
        v,
        '--no-test',
      ],
    ],
    [
      'account edit --password-env',
      (v: string) => ['account', 'edit', 'lost', '--password-env', v, '--no-test'],
    ],
    ['upload --password-env', (v: string) => ['upload', home, '--to', 'ftp://u@h/', '--password-env', v]],
    [
      'upload --totp-secret-env',
      (v: string) => ['upload', home, '--to', 'ftp://u@h/', '--totp-secret-env', v],
    ],
    ['code --secret-env', (v: string) => ['code', '--secret-env', v]],
    ['code --uri-env', (v: string) => ['code', '--uri-env', v]],
  ] as const) {
    it(label, () => {
      for (const v of values) {
        const r = run(args(v));
        assert.equal(r.status, 2, `${label} ${v}: ${r.stderr}`);
        assert.ok(!`${r.stdout}${r.stderr}`.includes(v), `${label}: "${v}" came back:\n${r.stderr}`);
        assert.match(
          r.stderr,
          /no environment variable of that name|NAME of an environment variable|not a value/,
        );
      }
    });
  }
});

describe('one definition of each OTP limit', () => {
  it('a config with digits: 9 is refused at load, naming the field and the range', () => {
    mkdirSync(join(home, 'digits'), { recursive: true });
    const cfg = join(home, 'digits', 'config.yaml');
    writeFileSync(
      cfg,
      'version: 1\naccounts:\n  d9:\n    protocol: ftp\n    host: 127.0.0.1\n    user: u\n    otp:\n      secret: env:SEED\n      digits: 9\n',
      { mode: 0o600 },
    );
    const r = run(['account', 'list', '--config', cfg]);
    assert.equal(r.status, 2, r.stdout);
    assert.match(r.stderr, /accounts\.d9\.otp\.digits/);
    assert.match(r.stderr, /8/);
    const flag = run([
      'account',
      'add',
      'd9',
      '--url',
      'ftp://u@h/',
      '--totp-secret-env',
      'SEED',
      '--digits',
      '9',
    ]);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--digits: must be 6, 7 or 8/);
  });
});

describe('a login template must carry a one-time code', () => {
  for (const [what, template] of [
    ['empty ("${PASSWORD}${TOTP}" double-quoted in a shell)', ''],
    ['password only', '${PASSWORD}'],
    ['literal text', 'secret'],
  ] as const) {
    it(`account add refuses ${what} before any login; over sftp --allow-no-code takes it`, () => {
      const args = (url: string) =>
        ['account', 'add', 'tpl', '--url', url, '--totp-secret-env', 'SEED', '--password-env', 'PW'].concat([
          '--template',
          template,
          '--store',
          'vault',
        ]);
      for (const url of ['ftp://u@127.0.0.1:1/', 'sftp://u@127.0.0.1:1/']) {
        // Without --no-test: the refusal comes before the login (port 1 would fail to connect).
        const r = run(args(url));
        assert.equal(r.status, 2, r.stdout);
        assert.match(r.stderr, /^otpbackup: --template (is empty|has no one-time code variable)/);
        assert.match(r.stderr, /single quotes, '\$\{PASSWORD\}\$\{TOTP\}'/);
        assert.match(r.stderr, /--allow-no-code/);
        assert.ok(!existsSync(configFile) || !readFileSync(configFile, 'utf8').includes('tpl:'), 'not saved');
      }
      const ok = run([...args('sftp://u@127.0.0.1:1/'), '--no-test', '--allow-no-code']);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(run(['account', 'remove', 'tpl', '--yes']).status, 0);
      const ftp = run([...args('ftp://u@127.0.0.1:1/'), '--no-test', '--allow-no-code']);
      assert.equal(ftp.status, 2, 'over FTP the code has nowhere else to go');
      assert.match(ftp.stderr, /over FTP the code can only travel in the password/);
    });
  }
  it('account edit and upload refuse it too', () => {
    const e = run(['account', 'edit', 'lost', '--template', '', '--no-test']);
    assert.equal(e.status, 2);
    assert.match(e.stderr, /--template is empty/);
    const u = run(['upload', home, '--to', 'ftp://u@127.0.0.1:1/', '--template', '${PASSWORD}'], {
      OTPBACKUP_TOTP_SECRET: SEED,
      OTPBACKUP_PASSWORD: PW,
    });
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--template has no one-time code variable/);
  });
  it('every help example quotes templates in single quotes', () => {
    for (const cmd of [['account', 'add'], ['account', 'edit'], ['upload'], ['template', 'preview']]) {
      const h = run([...cmd, '--help']).stdout;
      assert.doesNotMatch(
        h,
        /"[^"\n]*\$\{[A-Z]+\}[^"\n]*"/,
        `${cmd.join(' ')} --help has a double-quoted template`,
      );
    }
  });
});

describe('vault and keychain problems are found before a login, in one line', () => {
  it('a new vault with a passphrase under 8 characters is refused and nothing is stored', () => {
    const r = run(
      [
        'account',
        'add',
        'short',
        '--url',
        'ftp://u@127.0.0.1:1/',
        '--totp-secret-env',
        'SEED',
        '--store',
        'vault',
      ],
      { OTPBACKUP_PASSPHRASE: 'abc12', XDG_CONFIG_HOME: join(home, 'cfg-short') },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /shorter than 8 characters/);
    // Refused before the login test: the unreachable port 1 would have said so otherwise.
    assert.doesNotMatch(r.stderr, /connect|refused|ECONN/i);
    assert.ok(!existsSync(join(home, 'cfg-short', 'otpbackup', 'vault.enc')));
  });
  it('a wrong vault passphrase fails before the login', () => {
    const cfg = join(home, 'cfg-wrong');
    assert.equal(
      run(
        [
          'account',
          'add',
          'w1',
          '--url',
          'ftp://u@127.0.0.1:1/',
          '--totp-secret-env',
          'SEED',
          '--store',
          'vault',
          '--no-test',
        ],
        { XDG_CONFIG_HOME: cfg },
      ).status,
      0,
    );
    const r = run(
      [
        'account',
        'add',
        'w2',
        '--url',
        'ftp://u@127.0.0.1:1/',
        '--totp-secret-env',
        'SEED',
        '--store',
        'vault',
      ],
      { XDG_CONFIG_HOME: cfg, OTPBACKUP_PASSPHRASE: 'not-the-passphrase' },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /wrong passphrase for vault/);
    assert.doesNotMatch(r.stderr, /connect|refused|ECONN|login/i);
  });
  it('no Secret Service on the bus: one line with the fix, no raw D-Bus text', () => {
    const r = run(
      [
        'account',
        'add',
        'kc',
        '--url',
        'ftp://u@127.0.0.1:1/',
        '--totp-secret-env',
        'SEED',
        '--store',
        'keychain',
      ],
      {
        DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, 'no-bus')}`,
        XDG_CONFIG_HOME: join(home, 'cfg-kc'),
      },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^otpbackup: no keychain: no Secret Service .* D-Bus session bus\n {2}hint: use --store vault/,
    );
    assert.doesNotMatch(r.stderr, /Platform failure|Failed to connect to socket|autolaunch/);
    assert.equal(r.stderr.trim().split('\n').length, 2, r.stderr);
  });
});

describe('no secret reaches a child process environment', () => {
  it('dbus-send and the vault passphrase command see neither the seed, the password nor the passphrase', () => {
    const bin = join(home, 'fakebin');
    const dumps = join(home, 'dumps');
    mkdirSync(bin, { recursive: true });
    mkdirSync(dumps, { recursive: true });
    // A dbus-send that records its environment and answers "no service".
    writeFileSync(join(bin, 'dbus-send'), `#!/bin/sh\nenv > '${dumps}/dbus-send.env'\nexit 1\n`);
    chmodSync(join(bin, 'dbus-send'), 0o755);
    const cfgHome = join(home, 'cfg-child');
    mkdirSync(join(cfgHome, 'otpbackup'), { recursive: true });
    writeFileSync(
      join(cfgHome, 'otpbackup', 'config.yaml'),
      `version: 1\nvault:\n  passphraseCommand: [sh, -c, "env > '${dumps}/passphrase.env'; echo long-enough-passphrase"]\naccounts: {}\n`,
      { mode: 0o600 },
    );
    const r = otpbackup(
      [
        'account',
        'add',
        'c1',
        '--url',
        'ftp://u@127.0.0.1:1/',
        '--totp-secret-env',
        'SEED',
        '--password-env',
        'PW',
        '--no-test',
      ],
      {
        env: {
          HOME: home,
          XDG_CONFIG_HOME: cfgHome,
          XDG_STATE_HOME: join(home, 'state'),
          SEED,
          PW,
          PATH: `${bin}:${process.env.PATH}`,
          DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, 'no-bus')}`,
        },
      },
    );
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['dbus-send.env', 'passphrase.env']) {
      const text = readFileSync(join(dumps, f), 'utf8');
      assert.ok(text.includes('HOME='), `${f} is an environment dump`);
      for (const s of [SEED, PW]) assert.ok(!text.includes(s), `${f} holds a secret`);
    }
  });
});

describe('job add and run --dry-run say what will happen', () => {
  const cfg = join(home, 'cfg-jobs');
  const env = { XDG_CONFIG_HOME: cfg, XDG_STATE_HOME: join(home, 'state-jobs') };
  it('job add refuses a source that does not exist; --allow-missing takes it', () => {
    const add = run(
      [
        'account',
        'add',
        'nas',
        '--url',
        'ftp://u@127.0.0.1:1/',
        '--totp-secret-env',
        'SEED',
        '--store',
        'vault',
      ].concat(['--no-test']),
      env,
    );
    assert.equal(add.status, 0, add.stderr);
    const missing = join(home, 'no-such-dir');
    const r = run(['job', 'add', 'j1', '--account', 'nas', '--source', home, '--source', missing], env);
    assert.equal(r.status, 2, r.stdout);
    assert.equal(r.stderr.split('\n')[0], `otpbackup: --source: ${missing} does not exist`);
    assert.match(r.stderr, /--allow-missing/);
    assert.equal(run(['job', 'show', 'j1'], env).status, 2, 'not saved');
    const ok = run(['job', 'add', 'j1', '--account', 'nas', '--source', missing, '--allow-missing'], env);
    assert.equal(ok.status, 0, ok.stderr);
  });
  it('job add --help says how a second source changes the remote layout', () => {
    const h = run(['job', 'add', '--help']).stdout.replace(/\s+/g, ' ');
    assert.match(h, /with several, each goes into a sub-directory named after it/);
    assert.match(
      h,
      /Adding a second source to a job later therefore moves the first one's files one level down/,
    );
  });
  it('run --dry-run with nothing due names the next job and its time', () => {
    const j2 = run(
      ['job', 'add', 'j2', '--account', 'nas', '--source', home, '--schedule', '0 3 * * *'],
      env,
    );
    assert.equal(j2.status, 0, j2.stderr);
    // Mark both as run just now, so nothing is due.
    const now = Date.now();
    for (const j of ['j1', 'j2']) {
      mkdirSync(join(home, 'state-jobs', 'otpbackup', 'jobs', j), { recursive: true });
      writeFileSync(
        join(home, 'state-jobs', 'otpbackup', 'jobs', j, 'state.json'),
        JSON.stringify({ lastRunMs: now }),
      );
    }
    const r = run(['run', '--dry-run'], env);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^nothing is due; next: j\d at \d{4}-\d\d-\d\dT\d\d:\d\dZ\n$/, r.stdout);
    const noJobs = run(['run', '--dry-run'], { XDG_CONFIG_HOME: join(home, 'cfg-empty') });
    assert.match(noJobs.stdout, /^nothing is due: there are no jobs in /);
  });
});
