// Interactive `job add` in a REAL pseudo-terminal (tmux): questions for what the flags left out, a
// schedule checked as it is typed, arrow-key mode selection; without a terminal a missing flag is an
// exit-2 error naming it.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, ROOT, type Sandbox, sandbox } from '../backup/e2e-helpers.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux && process.env.CI === 'true') throw new Error('CI=true but tmux is missing');

let box: Sandbox;
let configFile: string;
before(async () => {
  box = sandbox('otpbackup-job-tty-');
  configFile = join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
  const add = await cli(
    [
      'account',
      'add',
      'nas',
      '--url',
      'ftp://u@127.0.0.1/',
      '--totp-secret-env',
      'S',
      '--store',
      'vault',
      '--no-test',
    ],
    { ...box.env, S: 'JBSWY3DPEHPK3PXP' },
  );
  assert.equal(add.status, 0, add.stderr);
});
after(() => {
  if (hasTmux) spawnSync('tmux', ['-S', join(box.dir, 'tmux.sock'), 'kill-server']);
  box.cleanup();
});

describe('job add', () => {
  test('without a terminal, a missing flag is named (exit 2)', async () => {
    const r = await cli(['job', 'add', 'x', '--source', box.dir], box.env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--account is missing/);
    const r2 = await cli(['job', 'add', 'x', '--account', 'nas'], box.env);
    assert.equal(r2.status, 2, r2.stderr);
    assert.match(r2.stderr, /--source is missing/);
  });

  test('on a terminal: asks, validates the schedule, selects the mode, saves', {
    skip: !hasTmux && 'tmux is missing',
  }, async () => {
    const tmux = (...args: string[]) =>
      execFileSync('tmux', ['-S', join(box.dir, 'tmux.sock'), '-f', '/dev/null', ...args], {
        encoding: 'utf8',
      });
    const src = join(box.dir, 'docs');
    mkdirSync(src);
    const script = join(box.dir, 'job.sh');
    const exports = Object.entries(box.env)
      .map(([k, v]) => `export ${k}='${v}'`)
      .join('\n');
    writeFileSync(
      script,
      `${exports}\nunset CI\ncd '${ROOT}'\n'${process.execPath}' bin/otpbackup job add\necho "EXIT=$?"\nsleep 60\n`,
      { mode: 0o700 },
    );
    tmux('new-session', '-d', '-s', 'job', '-x', '150', '-y', '40', `sh ${script}`);
    const waitFor = async (re: RegExp, ms = 15_000) => {
      const end = Date.now() + ms;
      for (;;) {
        const text = tmux('capture-pane', '-p', '-t', 'job', '-S', '-100');
        if (re.test(text)) return text;
        if (Date.now() > end) assert.fail(`timed out waiting for ${re} in:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const send = async (re: RegExp, ...keys: string[]) => {
      await waitFor(re);
      for (const k of keys)
        tmux('send-keys', '-t', 'job', ...(['Enter', 'Down', 'BSpace'].includes(k) ? [k] : ['-l', '--', k]));
    };
    await send(/Job name:/, 'docs', 'Enter');
    await send(/Sources/, src, 'Enter');
    await send(/Exclude/, '*.tmp, cache/', 'Enter');
    await send(/Remote directory:.*docs/, 'Enter');
    await send(/Schedule/, '61 * * * *', 'Enter');
    const refused = await waitFor(/expected range 0-59/);
    assert.doesNotMatch(refused, /Mode:/, 'an invalid schedule is asked again');
    for (let i = 0; i < 10; i++) tmux('send-keys', '-t', 'job', 'BSpace');
    await send(/Schedule/, '0 3 * * *', 'Enter');
    await send(/Mode:/, 'Down', 'Enter');
    const text = await waitFor(/EXIT=\d+/);
    assert.match(text, /EXIT=0/, text);
    const cfg = readFileSync(configFile, 'utf8');
    assert.match(cfg, /docs:\n {4}account: nas/);
    assert.ok(cfg.includes(src));
    assert.match(cfg, /exclude:.*\*\.tmp.*cache\//s);
    assert.match(cfg, /schedule: 0 3 \* \* \*/);
    assert.match(cfg, /mode: versions/);
  });
});
