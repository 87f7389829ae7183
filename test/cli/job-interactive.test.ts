// Interactive `job add` in a REAL pseudo-terminal (tmux): questions for what the flags left out, a
// schedule checked as it is typed, arrow-key mode selection; without a terminal a missing flag is an
// exit-2 error naming it.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { requireTool } from '../support/require.js';
import { type Tty, tty } from '../support/tty.js';

const noTmux = requireTool('tmux');

let box: Sandbox;
let term: Tty;
let configFile: string;
before(async () => {
  box = sandbox('otpbackup-job-tty-');
  term = tty(box.dir);
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
  term?.close();
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
    skip: noTmux,
  }, async () => {
    const src = join(box.dir, 'docs');
    mkdirSync(src);
    term.start('job', 'job add', { env: box.env, height: 40 });
    const waitFor = (re: RegExp) => term.waitFor('job', re);
    const send = (re: RegExp, ...keys: string[]) => term.answer('job', re, ...keys);
    await send(/Job name:/, 'docs', 'Enter');
    await send(/Sources/, src, 'Enter');
    await send(/Exclude/, '*.tmp, cache/', 'Enter');
    await send(/Remote directory:.*docs/, 'Enter');
    await send(/Schedule/, '61 * * * *', 'Enter');
    const refused = await waitFor(/expected range 0-59/);
    assert.doesNotMatch(refused, /Mode:/, 'an invalid schedule is asked again');
    for (let i = 0; i < 10; i++) term.keys('job', 'BSpace');
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
