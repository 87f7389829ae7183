// Every command's --help shows examples, exits 0 and prints nothing on stderr (no stack trace).
// Each command's help goes through the real main() in process (help never takes the bin's fast
// path: cli/entry.ts hands any --help to main()); the built CLI is spawned for the top level and
// for `run`, the one command the fast path parses itself. test/fuzz/cli.test.ts checks that
// in-process and spawned runs agree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { type CliContext, defaultContext } from '../../src/cli/context.js';
import { buildProgram, main } from '../../src/cli/main.js';
import { runSync } from '../support/cli.js';

function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const p = [...prefix, c.name()];
    return c.commands.length ? [p, ...paths(c, p)] : [p];
  });
}

async function helpOf(p: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    ...defaultContext(),
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' },
  };
  const status = await main(['node', 'otpbackup', ...p, '--help'], ctx);
  return { status, stdout, stderr };
}

test('every command has --help with examples', async () => {
  const all = paths(buildProgram(defaultContext()));
  assert.ok(all.length >= 10, `only ${all.length} commands found`);
  for (const p of all) {
    const r = await helpOf(p);
    assert.equal(r.status, 0, `${p.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', `otpbackup ${p.join(' ')} --help wrote to stderr`);
    assert.match(r.stdout, /Examples?:/, `otpbackup ${p.join(' ')} --help has no examples`);
  }
});

test('the built CLI prints the same help: top level and run (the fast path)', async () => {
  for (const p of [[], ['run']]) {
    const r = runSync([...p, '--help']);
    assert.equal(r.status, 0, `${p.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, (await helpOf(p)).stdout, `otpbackup ${p.join(' ')} --help`);
  }
});
