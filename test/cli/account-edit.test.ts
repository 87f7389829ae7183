// `account edit`: flags (no terminal) and the pre-filled questions in a REAL pseudo-terminal (tmux).
// Checks: fields changed in place with comments kept; --rename moves jobs, vault entries and the login
// state; a new seed replaces the stored one; the live test against ProFTPD decides whether anything is
// saved (a wrong seed changes nothing, byte for byte); no secret in outputs or the config.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { accountStatePath } from '../../src/config/paths.js';
import { resolveSecret } from '../../src/secrets/resolve.js';
import { type CliRun, cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';
import { type Tty, tty } from '../support/tty.js';

const noProftpd = requireTool('proftpd');
const noTmux = requireTool('tmux');

const PW = 'Edit-pw-Secret-71';
const PW2 = 'Edit-pw-Secret-72';
const SEED = 'JBSWY3DPEHPK3PXP';
const SEED2 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

let box: Sandbox;
let configFile: string;
let server: ProftpdHandle | undefined;
let term: Tty;
before(async () => {
  box = sandbox('otpbackup-edit-');
  term = tty(box.dir);
  configFile = join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
  if (!noProftpd) server = await startProftpd();
});
after(async () => {
  term?.close();
  await server?.stop();
  box.cleanup();
});

const secretsSeen = () => [
  PW,
  PW2,
  SEED,
  SEED2,
  ...(server ? [server.users.totp.password, server.users.totp.secret] : []),
];

async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const r = await cli(args, { ...box.env, PW, PW2, SEED, SEED2, ...extraEnv });
  for (const s of secretsSeen())
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret leaked from ${args.join(' ')}`);
  return r;
}

const config = () => (existsSync(configFile) ? readFileSync(configFile, 'utf8') : '');

function assertNoSecretInConfig(): void {
  const text = config();
  for (const s of secretsSeen()) assert.ok(!text.includes(s), 'no secret in the config');
  assert.equal(spawnSync('stat', ['-c', '%a', configFile], { encoding: 'utf8' }).stdout.trim(), '600');
}

function oathtool(seed: string, at: number): string {
  return execFileSync('oathtool', ['--totp', '-b', `--now=@${at}`, '-'], {
    input: seed,
    encoding: 'utf8',
  }).trim();
}

async function codeAt(account: string, at: number): Promise<string> {
  const r = await run(['code', account, '--at', String(at)]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('account edit with flags', () => {
  test('renames in place: comments kept, jobs repointed, vault entries and login state moved', async () => {
    const add = await run([
      'account',
      'add',
      'nas',
      '--url',
      'ftp://bob@127.0.0.1:2121/back',
      '--password-env',
      'PW',
      '--totp-secret-env',
      'SEED',
      '--store',
      'vault',
      '--no-test',
    ]);
    assert.equal(add.status, 0, add.stderr);
    const src = join(box.dir, 'src');
    mkdirSync(src, { recursive: true });
    assert.equal((await run(['job', 'add', 'docs', '--account', 'nas', '--source', src])).status, 0);
    writeFileSync(
      configFile,
      config()
        .replace(/^ {2}nas:$/m, '  # the NAS in the hall\n  nas:')
        .replace(/^( {4}host: .*)$/m, '$1 # fixed address'),
      { mode: 0o600 },
    );
    const state = accountStatePath(box.env, 'nas');
    mkdirSync(join(state, '..'), { recursive: true });
    writeFileSync(state, JSON.stringify({ lastStep: 1 }), { mode: 0o600 });

    const r = await run([
      'account',
      'edit',
      'nas',
      '--rename',
      'nas2',
      '--url',
      'sftp://alice@127.0.0.1:2222',
      '--template',
      '${PASSWORD};${TOTP}',
      '--no-test',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.edited, 'nas2');
    assert.equal(out.renamedFrom, 'nas');
    assert.deepEqual(out.references, { password: 'vault:nas2/password', otpSecret: 'vault:nas2/otp' });
    const text = config();
    assert.match(text, /# the NAS in the hall\n {2}nas2:/, text);
    assert.match(text, /host: 127\.0\.0\.1 # fixed address/, text);
    assert.match(text, /protocol: sftp/);
    assert.match(text, /port: 2222/);
    assert.match(text, /user: alice/);
    assert.match(text, /remoteDir: back\n/, 'a URL without a path keeps the remote directory');
    assert.match(text, /template: \$\{PASSWORD\};\$\{TOTP\}/);
    assert.match(text, /account: nas2/, 'the job follows the account');
    assert.doesNotMatch(text, /\bnas:/);
    assertNoSecretInConfig();
    assert.ok(existsSync(accountStatePath(box.env, 'nas2')) && !existsSync(state), 'login state moved');
    // The seed moved with the account, and the old vault entries are gone.
    assert.equal(await codeAt('nas2', 1_700_000_000), oathtool(SEED, 1_700_000_000));
    await assert.rejects(resolveSecret('vault:nas/otp', { env: box.env }), /not found/);
    await assert.rejects(resolveSecret('vault:nas/password', { env: box.env }), /not found/);
    assert.equal(await resolveSecret('vault:nas2/password', { env: box.env }), PW);
  });

  test('a new seed and password replace the stored ones; the login state starts afresh', async () => {
    const state = accountStatePath(box.env, 'nas2');
    const r = await run([
      'account',
      'edit',
      'nas2',
      '--totp-secret-env',
      'SEED2',
      '--password-env',
      'PW2',
      '--digits',
      '8',
      '--no-test',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /updated account nas2: .*otp, password/);
    assert.match(config(), /digits: 8/);
    assert.equal(await resolveSecret('vault:nas2/password', { env: box.env }), PW2);
    const at = 1_800_000_000;
    const ref = execFileSync('oathtool', ['--totp', '-b', '--digits=8', `--now=@${at}`, '-'], {
      input: SEED2,
      encoding: 'utf8',
    }).trim();
    assert.equal(await codeAt('nas2', at), ref);
    assert.equal(existsSync(state), false, "the old seed's login state was dropped");
    assertNoSecretInConfig();
  });

  test('mistakes change nothing: unknown account, taken name, bad flag, nothing to change', async () => {
    const before = config();
    await run([
      'account',
      'add',
      'other',
      '--url',
      'ftp://u@127.0.0.1',
      '--totp-secret-env',
      'SEED',
      '--no-test',
      '--store',
      'vault',
    ]);
    const withOther = config();
    assert.notEqual(withOther, before);
    const cases: [string[], RegExp][] = [
      [['account', 'edit', 'nope', '--no-test', '--digits', '7'], /no account "nope"/],
      [['account', 'edit', 'nas2', '--rename', 'other', '--no-test'], /account "other" already exists/],
      [['account', 'edit', 'nas2', '--digits', 'x', '--no-test'], /--digits: expected a whole number/],
      [
        ['account', 'edit', 'nas2', '--otp-type', 'sms', '--no-test'],
        /--otp-type: expected totp, hotp or prompt/,
      ],
      [['account', 'edit', 'nas2'], /nothing to change/],
      [['account', 'edit', 'other', '--prompt', 'code=${TOTP}', '--no-test'], /--prompt is for sftp/],
      [['account', 'edit', 'other', '--key', '/etc/hostname', '--no-test'], /--key is for sftp/],
    ];
    for (const [args, re] of cases) {
      const r = await run(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(config(), withOther, `${args.join(' ')} changed the config`);
    }
  });

  test('--prompt replaces the SFTP prompt rules; --key adds publickey before the code', async () => {
    const add = await run([
      ...['account', 'add', 'box', '--url', 'sftp://u@127.0.0.1:2222/up', '--totp-secret-env', 'SEED'],
      ...['--prompt', 'pin=${TOTP}', '--no-test', '--store', 'vault'],
    ]);
    assert.equal(add.status, 0, add.stderr);
    assert.match(config(), /pattern: pin/);
    const key = join(box.dir, 'id_test');
    writeFileSync(key, 'not parsed until a login\n', { mode: 0o600 });
    const r = await run([
      ...['account', 'edit', 'box', '--prompt', 'one-time=${TOTP}', '--prompt', 'password=${PASSWORD}'],
      ...['--key', key, '--no-test', '--json'],
    ]);
    assert.equal(r.status, 0, r.stderr);
    const text = config();
    assert.doesNotMatch(text, /pattern: pin/);
    assert.match(text, /pattern: one-time[\s\S]*pattern: password/);
    assert.ok(text.includes(`privateKey: ${key}`), text);
    assert.match(text, /authMethods:[\s\S]*publickey[\s\S]*keyboard-interactive/);
    const bad = await run(['account', 'edit', 'box', '--prompt', 'no equals sign', '--no-test']);
    assert.equal(bad.status, 2, bad.stderr);
    assert.equal(config(), text, 'a bad rule changes nothing');
  });

  test('--otp-type prompt drops the seed and its vault entry', async () => {
    const r = await run(['account', 'edit', 'other', '--otp-type', 'prompt', '--no-test', '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).deletedSecrets, ['vault:other/otp']);
    assert.match(config(), /other:[\s\S]*type: prompt/);
    await assert.rejects(resolveSecret('vault:other/otp', { env: box.env }), /not found/);
  });

  test('live: a seed the server refuses saves nothing; the right one is tested and saved', {
    skip: noProftpd,
  }, async () => {
    const u = server!.users.totp;
    const url = `ftp://${u.name}@127.0.0.1:${server!.ports.ftp}/`;
    const add = await run([
      'account',
      'add',
      'live',
      '--url',
      url,
      '--totp-secret-env',
      'SEED',
      '--template',
      '${OTP}',
      '--store',
      'vault',
      '--otp-reuse',
      'allow',
      '--no-test',
    ]);
    assert.equal(add.status, 0, add.stderr);
    const before = config();
    const bad = await run(['account', 'edit', 'live', '--totp-secret-env', 'SEED2']);
    assert.equal(bad.status, 4, bad.stderr);
    assert.equal(config(), before, 'a refused login saves nothing');
    assert.equal(await codeAt('live', 1_700_000_000), oathtool(SEED, 1_700_000_000), 'the old seed is kept');
    const good = await run(['account', 'edit', 'live', '--totp-secret-env', 'T_SEED'], { T_SEED: u.secret });
    assert.equal(good.status, 0, good.stderr);
    assert.match(good.stdout, /login and probe file OK/);
    const t = await run(['account', 'test', 'live']);
    assert.equal(t.status, 0, t.stderr);
    assertNoSecretInConfig();
  });
});

// ---- the same on a terminal -------------------------------------------------------------------
const startSession = (session: string, args: string) =>
  term.start(session, `account edit ${args}`, { env: box.env });
const waitFor = (session: string, re: RegExp, ms?: number) => term.waitFor(session, re, ms);
const answer = (session: string, prompt: RegExp, ...keys: string[]) => term.answer(session, prompt, ...keys);

describe('account edit on a terminal', { skip: noTmux || noProftpd }, () => {
  test('pre-filled answers, a new masked password, the live test, then saved', async () => {
    const u = server!.users.totp;
    const add = await run(
      [
        'account',
        'add',
        'tty',
        '--url',
        `sftp://${u.name}@127.0.0.1:${server!.ports.sftpKbd}/`,
        '--password-env',
        'PW',
        '--totp-secret-env',
        'T_SEED',
        '--trust-host-key',
        server!.sshHostKeyFingerprint,
        '--store',
        'vault',
        '--otp-reuse',
        'allow',
        '--no-test',
      ],
      { T_SEED: u.secret },
    );
    assert.equal(add.status, 0, add.stderr);
    const s = 'edit';
    startSession(s, 'tty');
    const first = await waitFor(s, /Account name:/);
    assert.match(first, /\(tty\)/, 'the current name is the default');
    term.keys(s, 'Enter');
    await answer(s, /Protocol:/, 'Enter');
    await answer(s, /Host:.*127\.0\.0\.1/, 'Enter');
    await answer(s, new RegExp(`Port:.*${server!.ports.sftpKbd}`), 'Enter');
    await answer(s, new RegExp(`User:.*${u.name}`), 'Enter');
    await answer(s, /Remote directory \(/, 'Enter');
    await answer(s, /Password \(empty keeps the stored one\)/, u.password, 'Enter');
    await answer(s, /Repeat the password:/, u.password, 'Enter');
    await answer(s, /empty keeps the current one/, 'Enter');
    await answer(s, /Algorithm:/, 'Enter');
    await answer(s, /Digits:.*6/, 'Enter');
    await answer(s, /Period \(seconds\):.*30/, 'Enter');
    await answer(s, /What the server expects/, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/, 60_000);
    assert.match(text, /EXIT=0/, text);
    assert.match(text, /updated account tty: password/, text);
    assert.match(text, /login and probe file OK/, text);
    for (const secret of secretsSeen()) assert.ok(!text.includes(secret), 'no secret on the screen');
    assert.equal(await resolveSecret('vault:tty/password', { env: box.env }), u.password);
    assertNoSecretInConfig();
  });

  test('a custom template is typed with a masked live preview', async () => {
    const s = 'custom';
    startSession(s, 'other --no-test');
    for (const q of [/Account name:/, /Protocol:/, /Host:/, /Port:/, /User:/, /Remote directory \(/])
      await answer(s, q, 'Enter');
    await answer(s, /Password \(empty keeps none\)/, 'Enter');
    await answer(s, /empty keeps the current one/, 'Enter');
    await answer(s, /What the server expects/, 'Down', 'Enter');
    await answer(s, /Template \(/, 'x-${OTP}');
    const typing = await waitFor(s, /x-\$\{OTP\}\s+x-•+/);
    assert.ok(typing.length > 0);
    term.keys(s, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    assert.match(config(), /other:[\s\S]*template: x-\$\{OTP\}/);
  });

  test('Ctrl-C keeps the account as it was (exit 130)', async () => {
    const before = config();
    const s = 'interrupt';
    startSession(s, 'tty');
    await answer(s, /Account name:/, 'BSpace', 'BSpace', 'BSpace', 'renamed', 'Enter');
    await answer(s, /Protocol:/, 'Down', 'Enter');
    await answer(s, /Host:/, 'C-c');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=130/, text);
    assert.equal(config(), before, 'nothing saved');
  });
});
