// Interactive `account add`/`edit` in a REAL pseudo-terminal (tmux on its own socket), #13.5/.7: the
// typed seed and password never reach a child process's environment (a fake dbus-send and the
// vault's passphrase command dump theirs), the digits prompt takes what the OTP core computes
// (6 to 8), and creating a vault from `edit` asks for a passphrase of at least 8 characters twice.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { requireTool } from '../support/require.js';
import { sandbox } from '../support/sandbox.js';
import { tty } from '../support/tty.js';

const noTmux = requireTool('tmux');

const box = sandbox('otpbackup-ttysec-');
const term = tty(box.dir);
after(() => {
  term.close();
  box.cleanup();
});
const { waitFor, answer } = term;
const PASSWORD = 'Tty-Secret-pw-93';
const SEED = 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U';
const VAULT_PASS = 'correct horse battery staple';
const dumps = join(box.dir, 'dumps');
const bin = join(box.dir, 'bin');
const cfgDir = join(box.env.XDG_CONFIG_HOME!, 'otpbackup');

/** Runs `otpbackup ARGS` in a new tmux session with env (no OTPBACKUP_PASSPHRASE); prints EXIT=. */
const startSession = (session: string, args: string, env: NodeJS.ProcessEnv) =>
  term.start(session, args, { env, unset: ['CI', 'OTPBACKUP_PASSPHRASE'] });

describe('interactive add and edit keep secrets to themselves', {
  skip: noTmux,
}, () => {
  test('add: no typed secret in the environment of dbus-send or the passphrase command; digits 6 to 8', async () => {
    mkdirSync(dumps, { recursive: true });
    mkdirSync(bin, { recursive: true });
    // A dbus-send that records its environment and answers "no Secret Service": the vault is chosen.
    writeFileSync(join(bin, 'dbus-send'), `#!/bin/sh\nenv > '${dumps}/dbus-send.env'\nexit 1\n`);
    chmodSync(join(bin, 'dbus-send'), 0o755);
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(
      join(cfgDir, 'config.yaml'),
      `version: 1\nvault:\n  passphraseCommand: [sh, -c, "env > ${dumps}/passphrase.env; echo '${VAULT_PASS}'"]\naccounts: {}\n`,
      { mode: 0o600 },
    );
    const env = {
      ...box.env,
      PATH: `${bin}:${process.env.PATH}`,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(box.dir, 'no-bus')}`,
    };
    const s = 'add';
    startSession(s, 'account add tty1 --no-test', env);
    await answer(s, /Protocol:/, 'Enter');
    await answer(s, /Host:/, '127.0.0.1', 'Enter');
    await answer(s, /Port:/, 'Enter');
    await answer(s, /User:/, 'alice', 'Enter');
    await answer(s, /Remote directory \(/, 'Enter');
    await answer(s, /Password \(empty/, PASSWORD, 'Enter');
    await answer(s, /Repeat the password:/, PASSWORD, 'Enter');
    await answer(s, /Base32 seed, otpauth/, SEED, 'Enter');
    await answer(s, /Algorithm:/, 'Enter');
    await answer(s, /Digits:/, 'BSpace', '9', 'Enter');
    await waitFor(s, /6, 7 or 8/); // the OTP core computes no 9-digit codes
    await answer(s, /Digits:/, 'BSpace', '8', 'Enter');
    await answer(s, /Period \(seconds\):/, 'Enter');
    await answer(s, /What the server expects/, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    assert.match(readFileSync(join(cfgDir, 'config.yaml'), 'utf8'), /digits: 8/);
    for (const f of ['dbus-send.env', 'passphrase.env']) {
      const dump = readFileSync(join(dumps, f), 'utf8');
      assert.match(dump, /^HOME=/m, `${f} is an environment dump`);
      assert.ok(!dump.includes(SEED) && !dump.includes(PASSWORD), `${f} holds a typed secret:\n${dump}`);
      assert.ok(!dump.includes(VAULT_PASS), `${f} holds the vault passphrase`);
      assert.doesNotMatch(dump, /OTPBACKUP_TTY/, `${f}: a fake variable carried the secrets`);
    }
  });

  test('edit --store vault creating the vault: at least 8 characters, asked twice', async () => {
    const cfg = join(box.dir, 'edit-config.yaml');
    writeFileSync(
      cfg,
      'version: 1\naccounts:\n  ed:\n    protocol: sftp\n    host: 127.0.0.1\n    user: bob\n    otp:\n      type: prompt\n',
      { mode: 0o600 },
    );
    const env = { ...box.env, NEW_PW: PASSWORD, XDG_CONFIG_HOME: join(box.dir, 'edit-cfg') };
    const s = 'edit';
    startSession(s, `account edit ed --config '${cfg}' --password-env NEW_PW --store vault --no-test`, env);
    await answer(s, /New passphrase for the vault/, 'abc12', 'Enter');
    await waitFor(s, /at least 8 characters/);
    for (let i = 0; i < 5; i++) term.keys(s, 'BSpace');
    await answer(s, /New passphrase for the vault/, VAULT_PASS, 'Enter');
    await answer(s, /Repeat the passphrase:/, VAULT_PASS, 'Enter');
    const text = await waitFor(s, /EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    assert.ok(!text.includes(VAULT_PASS) && !text.includes(PASSWORD), 'no secret on the screen');
    assert.match(readFileSync(cfg, 'utf8'), /password: vault:ed\/password/);
  });
});
