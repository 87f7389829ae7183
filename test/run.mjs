#!/usr/bin/env node
// Runs the test files with node's own runner. Files are listed explicitly because on Node 20 a glob
// (or no argument) silently skips .ts files. Usage: node test/run.mjs [dir-or-file ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const targets = args.length ? args : ['test'];

function collect(p, out) {
  const st = statSync(p);
  if (st.isFile()) {
    if (p.endsWith('.test.ts')) out.push(p);
    return;
  }
  for (const e of readdirSync(p).sort()) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    collect(join(p, e), out);
  }
}
const files = [];
for (const t of targets) collect(join(root, t), files);
if (!files.length) {
  console.error(`no test files under ${targets.join(', ')}`);
  process.exit(1);
}
// Node applies --test-timeout to each file as a whole too: the full-size fault runs
// (FAULT_SCALE=full) take tens of minutes, so they get two hours; otherwise 8 minutes a file, so a
// file of CPU-heavy cases (the fuzz inputs) does not fail on a busy machine. TEST_TIMEOUT_MS overrides.
const timeout = process.env.TEST_TIMEOUT_MS ?? (process.env.FAULT_SCALE === 'full' ? '7200000' : '480000');
// One file more than cores: many files spend their time waiting (a fresh TOTP step, a server's
// timeout) — CI's log showed a load average of 0.3 with two files running.
const concurrency = process.env.TEST_CONCURRENCY ?? String(availableParallelism() + 1);
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${timeout}`,
    '--test-reporter=spec',
    ...files.map((f) => relative(root, f)),
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
