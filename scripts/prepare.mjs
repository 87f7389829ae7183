#!/usr/bin/env node
// `npm run prepare`: builds dist/. npm runs it after `npm install`/`npm ci` in a clone, before
// `npm pack`/`npm publish` pack the tree, and in the clone of a git install (`npm i -g git+…`).
// A global git install runs it without the devDependencies it documents (npm/cli#8440: the inner
// install inherits npm_config_global), so tsc is missing: install them into the clone first,
// without scripts (this script would recurse) and ignoring the inherited global prefix.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const npm = process.env.npm_execpath;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
// npm_execpath is npm's own CLI script when npm runs us; plain `npm` from PATH otherwise.
const npmCmd = (args) => (npm ? run(process.execPath, [npm, ...args]) : run('npm', args));

if (!existsSync(join(root, 'node_modules', 'typescript', 'package.json'))) {
  npmCmd([
    'install',
    '--global=false',
    `--prefix=${root}`,
    '--include=dev',
    '--ignore-scripts',
    '--no-save',
    '--no-audit',
    '--no-fund',
  ]);
}
npmCmd(['run', 'build']);
