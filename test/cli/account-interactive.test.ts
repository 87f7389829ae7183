// Interactive `account add` in a REAL pseudo-terminal (tmux on its own socket): arrow-key selection,
// masked secrets that never reach the screen, and Ctrl-C that saves nothing (exit 130).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ROOT, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../servers/proftpd.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env.CI === 'true') throw new Error('CI=true but tmux is missing');

const noProftpd = proftpdUnavailable();
if (noProftpd && process.env.CI === 'true') throw new Error(`CI=true but ProFTPD cannot run: ${noProftpd}`);

const box = sandbox('otpbackup-tty-');
// Our own tmux server on a socket inside the sandbox: killed by name, its socket removed with the dir.
const socket = join(box.dir, 'tmux.sock');
after(() => {
  if (hasTmux) spawnSync('tmux', ['-S', socket, 'kill-server']);
  box.cleanup();
});

const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
const configFile = join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
const PASSWORD = 'Tty-Secret-pw-93';
const SEED = 'JBSWY3DPEHPK3PXP';

/** Starts `otpbackup account add ARGS` in a new tmux session; the shell prints EXIT=<status> after. */
function startSession(session: string, args: string): void {
  const script = join(box.dir, `${session}.sh`);
  const exports = Object.entries(box.env)
    .map(([k, v]) => `export ${k}='${v}'`)
    .join('\n');
  writeFileSync(
    script,
    `${exports}\nunset CI\ncd '${ROOT}'\n'${process.execPath}' bin/otpbackup account add ${args}\necho "EXIT=$?"\nsleep 60\n`,
    { mode: 0o700 },
  );
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', `sh ${script}`);
}

const pane = (session: string) => tmux('capture-pane', '-p', '-t', session, '-S', '-100');

async function waitFor(session: string, re: RegExp, ms = 15_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = pane(session);
    if (re.test(text)) return text;
    if (Date.now() > end) assert.fail(`timed out waiting for ${re} in:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answer(session: string, prompt: RegExp, ...keys: string[]): Promise<void> {
  await waitFor(session, prompt);
  for (const k of keys)
    tmux(
      'send-keys',
      '-t',
      session,
      ...(k === 'Enter' || k === 'Down' || k === 'C-c' ? [k] : ['-l', '--', k]),
    );
}

/** Like answer(), for a question asked a second time: waits until the pane shows it twice. */
async function answerAgain(session: string, prompt: RegExp, ...keys: string[]): Promise<void> {
  const twice = new RegExp(`${prompt.source}[\\s\\S]*${prompt.source}`);
  await answer(session, twice, ...keys);
}

describe('interactive account add on a terminal', { skip: !hasTmux && 'tmux is missing' }, () => {
  test('asks, masks the secrets, selects with arrow keys, and saves', async () => {
    const s = 'add';
    startSession(s, '--no-test --store vault');
    await answer(s, /Account name:/, 'tty1', 'Enter');
    await answer(s, /Protocol:/, 'Down', 'Enter');
    await answer(s, /Host:/, '127.0.0.1', 'Enter');
    await answer(s, /Port:/, 'Enter');
    await answer(s, /User:/, 'alice', 'Enter');
    await answer(s, /Remote directory \(/, 'backups', 'Enter');
    await answer(s, /Password \(empty/, PASSWORD, 'Enter');
    await answer(s, /Repeat the password:/, PASSWORD, 'Enter');
    await answer(s, /Base32 seed, otpauth/, SEED, 'Enter');
    await answer(s, /Algorithm:/, 'Enter');
    await answer(s, /Digits:/, 'Enter');
    await answer(s, /Period \(seconds\):/, 'Enter');
    const preview = await waitFor(s, /What the server expects/);
    assert.ok(
      preview.includes('•'.repeat(PASSWORD.length + 6)),
      `the template preview is masked:\n${preview}`,
    );
    tmux('send-keys', '-t', s, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    assert.ok(!text.includes(PASSWORD) && !text.includes(SEED), 'no secret on the screen');
    const cfg = readFileSync(configFile, 'utf8');
    assert.match(cfg, /protocol: ftps/, 'Down selected the second protocol');
    assert.doesNotMatch(cfg, /port:/, 'the default port (21) was taken');
    assert.match(cfg, /user: alice/);
    assert.match(cfg, /remoteDir: backups/, 'typed relative: below the login directory');
    assert.ok(!cfg.includes(PASSWORD) && !cfg.includes(SEED), 'no secret in the config');
  });

  test('a QR-code image path answers the seed question', {
    skip: spawnSync('qrencode', ['-V']).status !== 0 && 'qrencode is missing',
  }, async () => {
    const png = join(box.dir, 'qr.png');
    execFileSync('qrencode', ['-t', 'PNG', '-o', png], {
      input: `otpauth://totp/Box:carol?secret=${SEED}&issuer=Box`,
    });
    const s = 'qr';
    startSession(s, 'qr1 --no-test --store vault');
    await answer(s, /Protocol:/, 'Enter');
    await answer(s, /Host:/, '127.0.0.1', 'Enter');
    await answer(s, /Port:/, 'Enter');
    await answer(s, /User:/, 'carol', 'Enter');
    await answer(s, /Remote directory \(/, 'Enter');
    await answer(s, /Password \(empty/, 'Enter');
    await answer(s, /Base32 seed, otpauth/, png, 'Enter');
    const q = await waitFor(s, /What the server expects/);
    assert.doesNotMatch(q, /Algorithm:/, 'the settings come from the QR code');
    tmux('send-keys', '-t', s, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    const at = 1_700_000_000;
    const ours = execFileSync(process.execPath, ['bin/otpbackup', 'code', 'qr1', '--at', String(at)], {
      cwd: ROOT,
      env: box.env,
      encoding: 'utf8',
    }).trim();
    const ref = execFileSync('oathtool', ['--totp', '-b', `--now=@${at}`, '-'], {
      input: SEED,
      encoding: 'utf8',
    }).trim();
    assert.equal(ours, ref);
    assert.ok(!readFileSync(configFile, 'utf8').includes(SEED));
  });

  test('Ctrl-C at a prompt saves nothing and exits 130', async () => {
    const before = existsSync(configFile) ? readFileSync(configFile, 'utf8') : '';
    const s = 'interrupt';
    startSession(s, '--no-test --store vault');
    await answer(s, /Account name:/, 'tty2', 'Enter');
    await answer(s, /Protocol:/, 'Enter');
    await answer(s, /Host:/, '127.0.0.1', 'Enter');
    await answer(s, /Port:/, 'Enter');
    await answer(s, /User:/, 'bob', 'Enter');
    await answer(s, /Remote directory \(/, 'Enter');
    await answer(s, /Password \(empty/, PASSWORD.slice(0, 5), 'C-c');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=130/, text);
    assert.equal(existsSync(configFile) ? readFileSync(configFile, 'utf8') : '', before, 'nothing saved');
    assert.ok(!text.includes(PASSWORD.slice(0, 5)), 'the typed password is not echoed');
  });

  test('sftp: asks to trust the host key, runs the live test, pins the key', {
    skip: noProftpd,
  }, async () => {
    const server: ProftpdHandle = await startProftpd();
    try {
      const u = server.users.totp;
      const s = 'trust';
      startSession(s, 'live --store vault --otp-reuse allow');
      await answer(s, /Protocol:/, 'Enter');
      await answer(s, /Host:/, '127.0.0.1', 'Enter');
      await answer(s, /Port:/, String(server.ports.sftpKbd), 'Enter');
      await answer(s, /User:/, u.name, 'Enter');
      await answer(s, /Remote directory \(/, 'Enter');
      await answer(s, /Password \(empty/, u.password, 'Enter');
      await answer(s, /Repeat the password:/, u.password, 'Enter');
      await answer(s, /Base32 seed, otpauth/, u.secret, 'Enter');
      await answer(s, /Algorithm:/, 'Enter');
      await answer(s, /Digits:/, 'Enter');
      await answer(s, /Period \(seconds\):/, 'Enter');
      await answer(s, /What the server expects/, 'Enter');
      const q = await waitFor(s, /Trust this host key/, 20_000);
      assert.ok(q.includes(server.sshHostKeyFingerprint), q);
      tmux('send-keys', '-t', s, 'y', 'Enter');
      const text = await waitFor(s, /EXIT=\d+/, 60_000);
      assert.match(text, /EXIT=0/, text);
      assert.ok(!text.includes(u.password) && !text.includes(u.secret), 'no secret on the screen');
      const cfg = readFileSync(configFile, 'utf8');
      assert.ok(cfg.includes(server.sshHostKeyFingerprint), 'the trusted key is pinned in the config');
    } finally {
      await server.stop();
    }
  });

  // #13.1: a failed final test lost every answer. Now the answers come back pre-filled (Enter keeps
  // each, secrets included) and only the wrong one is typed again.
  test('a failed test login offers to edit the answers and retry; the second try saves', {
    skip: noProftpd,
  }, async () => {
    const server: ProftpdHandle = await startProftpd();
    try {
      const u = server.users.totp;
      // A directory the server account may not write in (0555: neither nobody nor its owner may).
      const ro = join(server.home(u.name), 'ro');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      const s = 'retry';
      startSession(s, 'again --store vault --otp-reuse allow');
      await answer(s, /Protocol:/, 'Enter');
      await answer(s, /Host:/, '127.0.0.1', 'Enter');
      await answer(s, /Port:/, String(server.ports.sftpKbd), 'Enter');
      await answer(s, /User:/, u.name, 'Enter');
      const q = await waitFor(s, /Remote directory/);
      assert.match(q, /home directory.*absolute/, 'the question says which rule applies (SFTP)');
      tmux('send-keys', '-t', s, '-l', 'ro/sub');
      tmux('send-keys', '-t', s, 'Enter');
      await answer(s, /Password \(empty/, u.password, 'Enter');
      await answer(s, /Repeat the password:/, u.password, 'Enter');
      await answer(s, /Base32 seed, otpauth/, u.secret, 'Enter');
      await answer(s, /Algorithm:/, 'Enter');
      await answer(s, /Digits:/, 'Enter');
      await answer(s, /Period \(seconds\):/, 'Enter');
      await answer(s, /What the server expects/, 'Enter');
      await answer(s, /Trust this host key/, 'y', 'Enter');
      const failed = await waitFor(s, /Edit the answers and try again/, 60_000);
      assert.match(failed, /permission denied/i, failed);
      assert.ok(
        !existsSync(configFile) || !readFileSync(configFile, 'utf8').includes('again:'),
        'nothing saved',
      );
      tmux('send-keys', '-t', s, 'Enter'); // yes (the default)
      await answer(s, /Account name:/, 'Enter'); // asked now: the name may be what failed;
      await answerAgain(s, /Protocol:/, 'Enter');
      await answerAgain(s, /Host:/, 'Enter');
      await answerAgain(s, /Port:/, 'Enter');
      await answerAgain(s, /User:/, 'Enter');
      await answerAgain(s, /Remote directory \(/, 'ok-dir', 'Enter');
      await answer(s, /Password \(empty keeps the one typed before/, 'Enter');
      await answer(s, /empty keeps the one given before/, 'Enter');
      await answerAgain(s, /Algorithm:/, 'Enter');
      await answerAgain(s, /Digits:/, 'Enter');
      await answerAgain(s, /Period \(seconds\):/, 'Enter');
      await answerAgain(s, /What the server expects/, 'Enter');
      await answerAgain(s, /Trust this host key/, 'y', 'Enter');
      const text = await waitFor(s, /EXIT=\d+/, 60_000);
      assert.match(text, /EXIT=0/, text);
      assert.ok(!text.includes(u.password) && !text.includes(u.secret), 'no secret on the screen');
      const cfg = readFileSync(configFile, 'utf8');
      assert.match(cfg, /again:[\s\S]*remoteDir: ok-dir/, cfg);
      assert.ok(existsSync(join(server.home(u.name), 'ok-dir')), 'the probe went to the corrected directory');
      const code = execFileSync(process.execPath, ['bin/otpbackup', 'account', 'test', 'again'], {
        cwd: ROOT,
        env: box.env,
        encoding: 'utf8',
      });
      assert.match(code, /login and probe file OK/, 'the kept secrets were saved and work');
    } finally {
      await server.stop();
    }
  });
});
