import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { runSync } from '../support/cli.js';

const cli = (args: string[]) => runSync(args, { env: {} });

// The generated script does not depend on the words completed: generated once.
let bashScript: string | undefined;
// Runs the generated bash completion in a real bash for a command line, returning the candidates.
function complete(words: string[]): string[] {
  bashScript ??= cli(['completion', 'bash']).stdout;
  const script = bashScript;
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

test('powershell completion lists every command path with its subcommands and options', () => {
  const r = cli(['completion', 'powershell']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Register-ArgumentCompleter -Native -CommandName 'otpbackup'/);
  assert.match(r.stdout, /'restore' = @\([^)]*'--to'[^)]*'--at'/);
  assert.match(r.stdout, /'account' = @\('list', 'show'/);
});

test('otpbackup man renders with man(1): every command, its options, and the exit codes', () => {
  const page = cli(['man']);
  assert.equal(page.status, 0, page.stderr);
  const r = spawnSync('man', ['-l', '-'], {
    input: page.stdout,
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '100', MAN_KEEP_FORMATTING: '' },
  });
  if (r.error) return; // no man(1) here: the roff itself is checked below
  const text = r.stdout.replace(/.\x08/g, '');
  for (const cmd of ['otpbackup upload', 'otpbackup restore', 'otpbackup verify', 'otpbackup account add'])
    assert.ok(text.includes(cmd), `${cmd} in the man page`);
  assert.match(text, /EXIT STATUS[\s\S]*130\s+interrupted/);
  assert.match(page.stdout, /^\.TH OTPBACKUP 1/m);
});

test('--help lists the exit codes', () => {
  const r = cli(['--help']);
  assert.match(r.stdout, /Exit codes:\n\s+0 {2}ok\n\s+1 {2}failed/);
  assert.match(r.stdout, /6 {2}server identity changed/);
});
