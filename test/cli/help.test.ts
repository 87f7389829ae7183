// Every command's --help shows examples, exits 0 and prints no stack trace.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { Command } from 'commander';
import { defaultContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';

const root = new URL('../..', import.meta.url).pathname;

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
    const r = spawnSync(process.execPath, [`${root}bin/otpbackup`, ...p, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${p.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Examples?:/, `otpbackup ${p.join(' ')} --help has no examples`);
  }
});
