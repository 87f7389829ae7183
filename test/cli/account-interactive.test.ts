// Interactive `account add` in a REAL pseudo-terminal (tmux on its own socket): arrow-key selection,
// masked secrets that never reach the screen, and Ctrl-C that saves nothing (exit 130).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runSync } from '../support/cli.js';
import { acquireProftpd, releaseProftpd, useProftpd } from '../support/proftpd.js';
import { requireTool } from '../support/require.js';
import { sandbox } from '../support/sandbox.js';
import { tty } from '../support/tty.js';

const noTmux = requireTool('tmux');
const noProftpd = requireTool('proftpd');
// One ProFTPD for the file: the two live tests share it (each works in its own account and directory).
useProftpd(noProftpd);

const box = sandbox('otpbackup-tty-');
const term = tty(box.dir);
after(() => {
  term.close();
  box.cleanup();
});
const { waitFor, answer, answerAgain } = term;
const configFile = join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
const PASSWORD = 'Tty-Secret-pw-93';
const SEED = 'JBSWY3DPEHPK3PXP';

/** Starts `otpbackup account add ARGS` in a new tmux session; the shell prints EXIT=<status> after. */
const startSession = (session: string, args: string) =>
  term.start(session, `account add ${args}`, { env: box.env, width: 120, height: 40 });

describe('interactive account add on a terminal', { skip: noTmux }, () => {
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
    term.keys(s, 'Enter');
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
    skip: requireTool('qrencode', 'oathtool'),
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
    term.keys(s, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    const at = 1_700_000_000;
    const code = runSync(['code', 'qr1', '--at', String(at)], { env: box.env });
    assert.equal(code.status, 0, code.stderr);
    const ours = code.stdout.trim();
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
    const server = await acquireProftpd();
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
      term.keys(s, 'y', 'Enter');
      const text = await waitFor(s, /EXIT=\d+/, 60_000);
      assert.match(text, /EXIT=0/, text);
      assert.ok(!text.includes(u.password) && !text.includes(u.secret), 'no secret on the screen');
      const cfg = readFileSync(configFile, 'utf8');
      assert.ok(cfg.includes(server.sshHostKeyFingerprint), 'the trusted key is pinned in the config');
    } finally {
      await releaseProftpd();
    }
  });

  // #13.1: a failed final test lost every answer. Now the answers come back pre-filled (Enter keeps
  // each, secrets included) and only the wrong one is typed again.
  test('a failed test login offers to edit the answers and retry; the second try saves', {
    skip: noProftpd,
  }, async () => {
    const server = await acquireProftpd();
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
      term.keys(s, 'ro/sub', 'Enter');
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
      term.keys(s, 'Enter'); // yes (the default)
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
      const probe = runSync(['account', 'test', 'again'], { env: box.env });
      assert.equal(probe.status, 0, probe.stderr);
      assert.match(probe.stdout, /login and probe file OK/, 'the kept secrets were saved and work');
    } finally {
      await releaseProftpd();
    }
  });
});
