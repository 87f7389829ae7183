// Every command's --help shows examples, exits 0 and prints no stack trace.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { defaultContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';
import { runSync } from '../support/cli.js';

function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => {
    const p = [...prefix, c.name()];
    return c.commands.length ? [p, ...paths(c, p)] : [p];
  });
}

test('every command has --help with examples', () => {
  const all = paths(buildProgram(defaultContext()));
  assert.ok(all.length >= 10, `only ${all.length} commands found`);
  for (const p of all) {
    const r = runSync([...p, '--help']);
    assert.equal(r.status, 0, `${p.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Examples?:/, `otpbackup ${p.join(' ')} --help has no examples`);
  }
});
