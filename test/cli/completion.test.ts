import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;
const cli = (args: string[]) =>
  spawnSync(process.execPath, [`${root}bin/otpbackup`, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
  });

// Runs the generated bash completion in a real bash for a command line, returning the candidates.
function complete(words: string[]): string[] {
  const script = cli(['completion', 'bash']).stdout;
  const arr = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync(
    'bash',
    [
      '-c',
      `${script}\nCOMP_WORDS=(${arr}); COMP_CWORD=${words.length - 1}; _otpbackup_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).sort();
}

test('bash completion completes commands, subcommands and options from the live command tree', () => {
  assert.deepEqual(complete(['otpbackup', 'acc']), ['account']);
  assert.deepEqual(complete(['otpbackup', 'account', '']), [
    '--help',
    'add',
    'edit',
    'list',
    'remove',
    'show',
    'test',
  ]);
  assert.ok(complete(['otpbackup', 'run', '--d']).includes('--dry-run'));
  assert.ok(complete(['otpbackup', '-v', 'upload', '--to']).includes('--to'));
});

test('zsh and fish scripts are produced; an unknown shell is a usage error', () => {
  assert.match(cli(['completion', 'zsh']).stdout, /^#compdef otpbackup/);
  const fish = cli(['completion', 'fish']).stdout;
  assert.match(fish, /complete -c otpbackup -n '__fish_use_subcommand' -a run/);
  const bad = cli(['completion', 'tcsh']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown shell "tcsh"/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});
