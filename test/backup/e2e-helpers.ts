// Helpers to compare a source tree with what landed on the server. The sandbox (temp HOME), the CLI
// spawner and the account fixtures live in test/support/ and are re-exported here.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const TEMP_MARK = '.otpbackup-tmp-';

// The sandbox, the CLI spawner and allowReuse moved to test/support/; re-exported for older tests.
export { allowReuse } from '../support/accounts.js';
export { type CliRun, cli, type Spawned, start } from '../support/cli.js';
export { type Sandbox, sandbox } from '../support/sandbox.js';

/**
 * Every regular file below dir, relative path → bytes. A run may still be writing (watch tests poll
 * while uploads go on): a temp file renamed away between readdir and read is simply not there.
 */
export function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const gone = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      try {
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) out.set(relative(dir, p), readFileSync(p));
      } catch (err) {
        if (!gone(err)) throw err;
      }
    }
  };
  walk(dir);
  return out;
}

/** Regular files (relative paths) below dir whose name is an upload temp name. */
export function tempNames(dir: string): string[] {
  return [...readTree(dir).keys()].filter((p) => p.includes(TEMP_MARK));
}

/** Writes n files of random content and size (up to maxBytes) in a few subdirectories. */
export function makeTree(dir: string, n: number, maxBytes: number): void {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${i % 7}`, i % 3 ? '' : `e${i % 5}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.bin`), randomBytes(1 + Math.floor(Math.random() * maxBytes)));
  }
}

/** Files below dir (recursively) whose mode lets group or others read or write. */
export function notPrivate(dir: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && (statSync(p).mode & 0o077) !== 0)
        bad.push(`${p} ${(statSync(p).mode & 0o777).toString(8)}`);
    }
  };
  walk(dir);
  return bad;
}

/** Paths of files below dir whose content contains any of the secrets. */
export function filesContaining(dir: string, secrets: string[]): string[] {
  const hits: string[] = [];
  for (const [rel, buf] of readTree(dir)) {
    const text = buf.toString('latin1');
    if (secrets.some((s) => text.includes(s))) hits.push(rel);
  }
  return hits;
}
