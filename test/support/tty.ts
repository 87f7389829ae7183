// A REAL pseudo-terminal for the interactive CLI tests: tmux on its own socket inside the test's
// sandbox (its server is ours alone; close() kills it through that socket), one session per run. The
// shell prints EXIT=<status> when the CLI ends and keeps the pane open, so a test reads the last
// screen after the exit. Waits poll the screen and are bounded.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** tmux key names sent as keys; anything else is typed literally (`send-keys -l --`, so a text
 * starting with '-' is not taken for a flag). */
const NAMED = new Set(['Enter', 'Down', 'Up', 'Left', 'Right', 'BSpace', 'Tab', 'Escape', 'C-c', 'C-d']);

export interface TtyStartOptions {
  /** The environment exported in the session (the sandbox's). */
  env: NodeJS.ProcessEnv;
  /** Variables unset before the CLI starts; default ['CI'] (a terminal run is not a CI run). */
  unset?: string[];
  width?: number;
  height?: number;
}

export interface Tty {
  /** Starts `otpbackup ARGS` (ARGS as shell words) in a new session named `session`. */
  start(session: string, args: string, opts: TtyStartOptions): void;
  /** The screen and up to `history` lines of scrollback. */
  pane(session: string, history?: number): string;
  /** Polls the screen until re matches (returns it), failing with the screen after ms. */
  waitFor(session: string, re: RegExp, ms?: number): Promise<string>;
  /** Types keys (tmux names such as Enter, Down, C-c; other strings literally). */
  keys(session: string, ...keys: string[]): void;
  /** Waits for prompt, then types keys. */
  answer(session: string, prompt: RegExp, ...keys: string[]): Promise<void>;
  /** Like answer(), for a question asked a second time: waits until the screen shows it twice. */
  answerAgain(session: string, prompt: RegExp, ...keys: string[]): Promise<void>;
  /** Kills this driver's tmux server (idempotent). Call before removing `dir`. */
  close(): void;
}

const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

/** A tmux driver whose socket and session scripts live in dir (the test's sandbox). */
export function tty(dir: string): Tty {
  const socket = join(dir, 'tmux.sock');
  let used = false;
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const self: Tty = {
    start(session, args, opts) {
      used = true;
      const script = join(dir, `${session}.sh`);
      const exports = Object.entries(opts.env)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `export ${k}=${quote(v as string)}`)
        .join('\n');
      const unset = (opts.unset ?? ['CI']).join(' ');
      writeFileSync(
        script,
        `${exports}\n${unset ? `unset ${unset}\n` : ''}cd ${quote(ROOT)}\n${quote(process.execPath)} bin/otpbackup ${args}\necho "EXIT=$?"\nsleep 60\n`,
        { mode: 0o700 },
      );
      tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        String(opts.width ?? 150),
        '-y',
        String(opts.height ?? 50),
        `sh ${script}`,
      );
    },
    pane: (session, history = 200) => tmux('capture-pane', '-p', '-t', session, '-S', `-${history}`),
    async waitFor(session, re, ms = 15_000) {
      const end = Date.now() + ms;
      for (;;) {
        const text = self.pane(session);
        if (re.test(text)) return text;
        if (Date.now() > end) assert.fail(`timed out waiting for ${re} in:\n${text}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    keys(session, ...keys) {
      for (const k of keys) tmux('send-keys', '-t', session, ...(NAMED.has(k) ? [k] : ['-l', '--', k]));
    },
    async answer(session, prompt, ...keys) {
      await self.waitFor(session, prompt);
      self.keys(session, ...keys);
    },
    async answerAgain(session, prompt, ...keys) {
      await self.answer(session, new RegExp(`${prompt.source}[\\s\\S]*${prompt.source}`), ...keys);
    },
    close() {
      if (used) spawnSync('tmux', ['-S', socket, 'kill-server']);
      used = false;
    },
  };
  return self;
}
