// Shared wiring for the end-to-end `otpbackup run` tests: a temp HOME with XDG dirs, the built CLI
// spawned asynchronously (so a test can kill it), accounts created through `account add`, and
// helpers to compare a source tree with what landed on the server.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { editConfig } from '../../src/config/save.js';
import { assertNoSecrets, noteInvocation } from '../leak-guard.js';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const TEMP_MARK = '.otpbackup-tmp-';

export interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

/** A temp dir holding HOME, the XDG dirs and a vault passphrase; nothing touches the real ones. */
export function sandbox(prefix: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    OTPBACKUP_PASSPHRASE: randomBytes(12).toString('base64url'),
    NO_COLOR: '1',
  };
  mkdirSync(env.HOME!, { recursive: true });
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<CliRun>;
}

/** Starts the built CLI; `done` resolves when it exits, and rejects only when its output leaks a
 * known secret (test/leak-guard.ts). */
export function start(args: string[], env: NodeJS.ProcessEnv): Spawned {
  noteInvocation(args, env);
  const child = spawn(process.execPath, [join(ROOT, 'bin/otpbackup'), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on('close', (status, signal) => {
      try {
        assertNoSecrets(`${stdout}\n${stderr}`, `output of otpbackup ${args.slice(0, 2).join(' ')}`);
      } catch (e) {
        return reject(e);
      }
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { child, done };
}

export async function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliRun> {
  const s = start(args, env);
  const timer = setTimeout(() => s.child.kill('SIGKILL'), timeoutMs);
  try {
    return await s.done;
  } finally {
    clearTimeout(timer);
  }
}

/** Sets otp.reuse: allow (ProFTPD accepts a code twice; `account add` has no flag for it). */
export async function allowReuse(env: NodeJS.ProcessEnv, account: string): Promise<void> {
  await editConfig(env, undefined, (doc) => {
    doc.setIn(['accounts', account, 'otp', 'reuse'], 'allow');
  });
}

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
