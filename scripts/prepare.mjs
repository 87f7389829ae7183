#!/usr/bin/env node
// `npm run prepare`: builds dist/. npm runs it after `npm install`/`npm ci` in a clone, when
// `npm pack`/`npm publish` pack the tree, and in the clone of a git install.
// Without the devDependencies (a fresh clone packed before `npm ci`, `npm i -g --install-links .`,
// or a global git install, where npm skips them: npm/cli#8440) tsc is missing. Then the build runs in
// a scratch copy with its own `npm ci`: the tree's node_modules may belong to an install in progress
// and must not change under it.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** npm itself: npm_execpath is npm's CLI script when npm runs this; `npm` from PATH otherwise. */
function npm(args, cwd) {
  const [cmd, pre] = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (existsSync(join(root, 'node_modules', 'typescript', 'package.json'))) {
  npm(['run', 'build'], root);
} else {
  const scratch = mkdtempSync(join(tmpdir(), 'otpbackup-build-'));
  try {
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'src'])
      cpSync(join(root, f), join(scratch, f), { recursive: true });
    // --global=false and --prefix: the inherited global settings would install somewhere else.
    npm(
      [
        'ci',
        '--global=false',
        `--prefix=${scratch}`,
        '--include=dev',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
      ],
      scratch,
    );
    npm(['run', 'build'], scratch);
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    cpSync(join(scratch, 'dist'), join(root, 'dist'), { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

// The man page, made from the command tree by the built CLI, ships in dist/ (package.json "man").
const man = spawnSync(process.execPath, [join(root, 'bin', 'otpbackup'), 'man'], { encoding: 'utf8' });
if (man.status !== 0) {
  process.stderr.write(man.stderr);
  process.exit(man.status ?? 1);
}
writeFileSync(join(root, 'dist', 'otpbackup.1'), man.stdout);
