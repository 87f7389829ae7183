// The CLI with fuzzed arguments and config files: the real main() in process (a few thousand cases),
// then ~30 spawned processes to show the in-process results match a real run. Every case exits with
// a documented code, prints no stack trace and no unexpected error, keeps errors to one line (plus a
// hint), and leaves the config file either unchanged or valid (never half written).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { CliContextInit } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { FakeClock } from '../../src/schedule/clock.js';
import { clearSecretsForTests } from '../../src/secrets/redact.js';
import { FIXTURES, fuzzConfig } from './config-gen.js';
import { EDGE_NUMBERS, fuzz, fuzzFrom, type Rng, SEED, show } from './gen.js';

const N = Number(process.env.FUZZ_CLI_CASES) > 0 ? Number(process.env.FUZZ_CLI_CASES) : 3000;
const SPAWNED = 30;
const ROOT = new URL('../..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'otpbackup-fuzz-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const home = join(tmp, 'home');
const env = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  XDG_STATE_HOME: join(home, '.state'),
  XDG_DATA_HOME: join(home, '.data'),
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  NO_COLOR: '1',
};
mkdirSync(env.XDG_CONFIG_HOME, { recursive: true });
const configFile = join(tmp, 'config.yaml');
const VALID = FIXTURES[1]!; // valid-minimal: account "nas", job "docs"

const SEEDS = [
  'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
  'jbsw y3dp',
  'hex:3132',
  'otpauth://totp/x?secret=MFRGGZDF',
];
const ARG_DICT = ['--', '-', '--help', '-h', '=', ' ', '${TOTP}', '$', '..', '/', '\\', ...EDGE_NUMBERS];

/** One fuzzed command line (and the environment values it reads). */
function fuzzArgs(r: Rng): {
  argv: string[];
  env: Record<string, string>;
  writesConfig: boolean;
  config?: string;
} {
  const v = (valid: string[]) => fuzzFrom(r, valid, ARG_DICT);
  /** The words `x()` with probability p, else none. */
  const f = (p: number, x: () => string | string[]): string[] => (r.bool(p) ? [x()].flat() : []);
  const k = r.int(9);
  switch (k) {
    case 0:
    case 1: {
      const uri = r.bool(0.2);
      return {
        argv: [
          'code',
          ...(uri ? ['--uri-env', 'U'] : ['--secret-env', 'S']),
          ...f(0.3, () => ['--digits', v(['6', '8'])]),
          ...f(0.3, () => ['--period', v(['30', '60'])]),
          ...f(0.2, () => ['--t0', v(['0', '30'])]),
          ...f(0.3, () => ['--at', v(['59', '2005-03-18T01:58:29Z', '2024-05-01 12:00:00'])]),
          ...f(0.2, () => ['--counter', v(['0', '9'])]),
          ...f(0.2, () => ['--algorithm', v(['sha1', 'sha256', 'SHA512'])]),
        ],
        env: uri ? { U: fuzzFrom(r, SEEDS.slice(3)) } : { S: v(SEEDS) },
        writesConfig: false,
      };
    }
    case 2:
      return {
        argv: ['template', 'preview', v(['${PASSWORD}${TOTP}', '$<TOTP>'])],
        env: {},
        writesConfig: false,
      };
    case 3:
    case 4:
      return {
        argv: [
          'job',
          'add',
          v(['photos', 'a.b_c-d']),
          '--account',
          r.bool(0.8) ? 'nas' : v(['nas']),
          '--source',
          v(['/tmp', '~/Pictures', 'rel/dir']),
          ...f(0.5, () => ['--schedule', v(['30 2 * * *', '@hourly', '*/5 * * * *'])]),
          ...f(0.3, () => ['--timezone', v(['Europe/Berlin', 'UTC'])]),
          ...f(0.2, () => ['--mode', v(['mirror', 'versions'])]),
          ...f(0.2, () => ['--keep', v(['5'])]),
          ...f(0.2, () => ['--keep-days', v(['30'])]),
          ...f(0.2, () => ['--exclude', v(['*.tmp', 'node_modules'])]),
          ...f(0.2, () => ['--remote-dir', v(['photos', '../x', '/abs'])]),
          ...f(0.3, () => '--json'),
          '--config',
          configFile,
        ],
        env: {},
        writesConfig: true,
        config: VALID,
      };
    case 5:
      return {
        argv: ['job', 'remove', v(['docs']), '--yes', '--config', configFile],
        env: {},
        writesConfig: true,
        config: r.bool(0.5) ? VALID : fuzzConfig(r),
      };
    case 6:
      return {
        argv: [
          r.pick(['status', 'job list', 'job show docs']),
          ...f(0.3, () => '--json'),
          '--config',
          configFile,
        ]
          .join(' ')
          .split(' '),
        env: {},
        writesConfig: false,
        config: fuzzConfig(r),
      };
    case 7:
      // Fuzzed flags and commands, including unknown ones.
      return {
        argv: [
          v(['code', 'job', 'status', 'template', 'schedule', 'account']),
          ...f(0.7, () => v(['--json', 'list', '--config', 'show'])),
        ],
        env: {},
        writesConfig: false,
      };
    default:
      return {
        argv: ['run', '--dry-run', ...f(0.5, () => ['--job', v(['docs'])]), '--config', configFile],
        env: { NAS_TOTP_SEED: 'GEZDGNBVGY3TQOJQ' },
        writesConfig: false,
        config: fuzzConfig(r),
      };
  }
}

const EXIT_CODES = [0, 1, 2, 3];

/** The contract for what the user sees. */
function checkOutput(code: number, stdout: string, stderr: string, what: string): void {
  assert.ok(EXIT_CODES.includes(code), `exit ${code} for ${what}\n${stderr}`);
  const all = `${stdout}\n${stderr}`;
  // Line by line with a bounded indent: /^\s+at /m backtracks quadratically on 100k spaces.
  const frame = all.split('\n').find((l) => /^[ \t]{1,12}at \S/.test(l) && /:\d+:\d+\)?$/.test(l));
  assert.equal(frame, undefined, `stack trace for ${what}\n${stderr}`);
  assert.doesNotMatch(stderr, /unexpected error/, `non-OtpBackupError for ${what}\n${stderr}`);
  assert.doesNotMatch(stderr, /^(TypeError|RangeError|ReferenceError|SyntaxError|URIError|Error)\b/m, what);
  // Each error is one line, optionally followed by its hint.
  const lines = stderr.split('\n');
  lines.forEach((l, i) => {
    if (l.startsWith('  hint: '))
      assert.match(lines[i - 1] ?? '', /^(otpbackup: | {2})/, `hint without error: ${what}`);
  });
  if (code === 1) assert.match(stderr, /^otpbackup: /m, `exit 1 without an error line for ${what}`);
}

interface Case {
  argv: string[];
  env: Record<string, string>;
  code: number;
  stdout: string;
  stderr: string;
}

async function runInProcess(argv: string[], extraEnv: Record<string, string>): Promise<Case> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContextInit = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from([]) as unknown as CliContextInit['stdin'],
    env: { ...env, ...extraEnv },
    clock: new FakeClock(Date.UTC(2026, 4, 1, 12)),
    cwd: tmp,
    debug: false,
    verbose: 0,
  };
  clearSecretsForTests(); // each case is a fresh process: no secrets registered by earlier ones
  const code = await main(['node', 'otpbackup', ...argv], ctx);
  return { argv, env: extraEnv, code, stdout, stderr };
}

describe('fuzz: the CLI', () => {
  const sample: (Case & { config: string })[] = [];
  it(`in process: ${N} fuzzed command lines and config files`, async () => {
    await fuzz(
      'cli',
      N,
      async (r, i) => {
        const a = fuzzArgs(r);
        if (a.config !== undefined) writeFileSync(configFile, a.config);
        else if (existsSync(configFile)) rmSync(configFile);
        // What is on disk (UTF-8 turned any lone surrogate into U+FFFD).
        const before = a.config === undefined ? undefined : readFileSync(configFile, 'utf8');
        if (process.env.FUZZ_INDEX) process.stderr.write(`argv ${show(a.argv.join(' '))}\n`);
        const c = await runInProcess(a.argv, a.env);
        const what = `case ${i}: otpbackup ${a.argv.map((x) => show(x)).join(' ')}`;
        checkOutput(c.code, c.stdout, c.stderr, what);
        if (a.writesConfig && before !== undefined) {
          const now = readFileSync(configFile, 'utf8');
          if (now !== before) {
            // Changed: must be whole and valid.
            try {
              parseConfig(now, configFile);
            } catch (e) {
              assert.fail(
                `${what} left an invalid config: ${(e as Error).message}\nbefore: ${show(before)}\nafter: ${show(now)}`,
              );
            }
          }
          if (c.code !== 0) assert.equal(now, before, `failed command changed the config: ${what}`);
        }
        // Keep a spread of cases (not --help: commander's help width follows the terminal) to replay.
        // A real process cannot get NUL or lone surrogates in argv or the environment.
        const passable = [...a.argv, ...Object.values(a.env)].every((x) => !/\0|\p{Cs}/u.test(x));
        const help = a.argv.some((x) => /^-h$|^--help$|^help$/.test(x));
        if (sample.length < SPAWNED && i % Math.ceil(N / SPAWNED / 2) === 0 && passable && !help) {
          sample.push({ ...c, config: a.config ?? '' });
        }
        return `exit-${c.code}`;
      },
      1000, // CPU ms; the slowest case of the default seed takes < 300
    );
  });

  it(`spawned: ${SPAWNED} of those cases give the same exit code and stdout`, {
    skip: process.env.FUZZ_INDEX !== undefined,
  }, () => {
    assert.ok(sample.length >= 10, `only ${sample.length} cases sampled`);
    for (const c of sample) {
      if (c.config) writeFileSync(configFile, c.config);
      else if (existsSync(configFile)) rmSync(configFile);
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/otpbackup'), ...c.argv], {
        cwd: tmp, // as in process: relative paths resolve the same way
        env: { ...env, ...c.env },
        input: '',
        encoding: 'utf8',
        timeout: 30_000,
      });
      const what = `spawned otpbackup ${c.argv.map((x) => show(x)).join(' ')} (FUZZ_SEED=${SEED})`;
      checkOutput(r.status ?? -1, r.stdout, r.stderr, what);
      assert.equal(r.status, c.code, `in-process exit ${c.code}, spawned ${r.status}: ${what}\n${r.stderr}`);
      // The clock differs (fake in process): compare output only where it cannot depend on it.
      if (!c.argv.includes('code') && !c.argv.includes('status') && !c.argv.includes('list')) {
        assert.equal(r.stdout, c.stdout, what);
      }
    }
  });
});
