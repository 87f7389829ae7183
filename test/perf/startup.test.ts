// The fast path of `otpbackup run` (cli/entry.ts: no commander; config cache; next due time in the
// job state) must behave exactly like the full CLI: same exit codes, same output, an edited config
// honoured at once, a corrupt cache ignored. The built CLI runs in child processes against an
// in-process FTP server on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { jobStatePath } from '../../src/backup/job-state.js';
import { parseFastRun } from '../../src/cli/entry.js';
import { configCachePath, loadConfigCached } from '../../src/config/cache.js';
import { ROOT, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type InprocessFtpHandle, startInprocessFtp } from '../servers/ftp-inprocess.js';

let box: Sandbox;
let ftp: InprocessFtpHandle;
let env: NodeJS.ProcessEnv;
let configFile: string;
let src: string;
let loadedLog: string;
let register: string;
let fullCli: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** bin/otpbackup: the fast path for a plain `run`. */
const fast = (...args: string[]) => node([join(ROOT, 'bin/otpbackup'), ...args]);
/** cli/main.ts directly: commander parses, as before the fast path existed. */
const full = (...args: string[]) => node([fullCli, ...args]);

/** Runs the fast path and returns the bare module names it imported. */
async function fastTraced(...args: string[]): Promise<{ run: Run; packages: Set<string> }> {
  rmSync(loadedLog, { force: true });
  const run = await node(['--import', pathToFileURL(register).href, join(ROOT, 'bin/otpbackup'), ...args], {
    LOADED_LOG: loadedLog,
  });
  const packages = new Set(existsSync(loadedLog) ? readFileSync(loadedLog, 'utf8').split('\n') : []);
  return { run, packages };
}

function writeConfig(schedule: string): void {
  writeFileSync(
    configFile,
    [
      'accounts:',
      '  box:',
      '    protocol: ftp',
      '    host: 127.0.0.1',
      `    port: ${ftp.port}`,
      `    user: ${ftp.user}`,
      '    password: env:BOX_PASSWORD',
      '    otp:',
      '      secret: env:BOX_SEED',
      `      period: ${ftp.period}`,
      '      reuse: allow',
      'jobs:',
      '  docs:',
      '    account: box',
      `    sources: [${src}]`,
      `    schedule: "${schedule}"`,
      '',
    ].join('\n'),
  );
}

const state = () => JSON.parse(readFileSync(jobStatePath(env, 'docs'), 'utf8'));

before(async () => {
  box = sandbox('otpb-startup-');
  ftp = await startInprocessFtp({ banMs: 0 });
  src = join(box.dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'alpha');
  configFile = join(box.dir, 'config.yaml');
  env = {
    ...box.env,
    OTPBACKUP_CONFIG: configFile,
    BOX_PASSWORD: ftp.password,
    BOX_SEED: ftp.secret,
    CI: 'true',
  };
  loadedLog = join(box.dir, 'loaded.txt');
  const hooks = join(box.dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (!/^[.\\/]|^node:|^file:|^data:/.test(specifier)) appendFileSync(process.env.LOADED_LOG, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  register = join(box.dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  fullCli = join(box.dir, 'full.mjs');
  writeFileSync(
    fullCli,
    `import { main } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/cli/main.js')).href)};
process.exitCode = await main(['node', 'otpbackup', ...process.argv.slice(2)]);
`,
  );
  writeConfig('0 3 * * *');
});

after(async () => {
  await ftp?.stop();
  box?.cleanup();
});

describe('otpbackup run: fast path', () => {
  it('runs a due job (never run) and stores its next scheduled time', async () => {
    const r = await fast('run');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(readFileSync(join(ftp.root, 'docs', 'a.txt'), 'utf8'), 'alpha');
    const st = state();
    assert.equal(st.lastOutcome, 'ok');
    assert.equal(st.next.afterMs, st.lastRunMs);
    assert.equal(st.next.schedule, '0 3 * * *');
    assert.ok(st.next.atMs > st.lastRunMs && st.next.atMs <= st.lastRunMs + 86_400_000);
    assert.ok(existsSync(configCachePath(env, configFile)), 'the valid config was cached');
  });

  it('with nothing due exits 0 silently, loading neither commander, yaml nor cron-parser', async () => {
    const before = state().lastRunMs;
    const { run, packages } = await fastTraced('run');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, '');
    for (const p of ['commander', 'yaml', 'cron-parser']) assert.ok(!packages.has(p), `${p} was loaded`);
    assert.equal(state().lastRunMs, before, 'nothing ran');
    // Same answers as the full CLI.
    for (const args of [['run'], ['run', '--json'], ['-v', 'run'], ['run', '--verbose', '--dry-run']]) {
      assert.deepEqual(await fast(...args), await full(...args), args.join(' '));
    }
  });

  it('the trace is real: a full command line loads commander', async () => {
    const { run, packages } = await fastTraced('status');
    assert.equal(run.status, 0, run.stderr);
    assert.ok(packages.has('commander'));
  });

  it('honours a config edited between runs, even with the same size and mtime', async () => {
    // Last run two minutes ago; its stored next time (03:00) says "not due" for the old schedule.
    const st = state();
    st.lastRunMs = Date.now() - 120_000;
    st.next = { afterMs: st.lastRunMs, schedule: '0 3 * * *', atMs: Date.now() + 3_600_000 };
    writeFileSync(jobStatePath(env, 'docs'), JSON.stringify(st));
    let r = await fast('run');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(state().lastRunMs, st.lastRunMs, 'not due with the old schedule');

    const old = statSync(configFile);
    writeConfig('* * * * *'); // same length as "0 3 * * *"
    try {
      utimesSync(configFile, old.atime, old.mtime);
      assert.equal(statSync(configFile).size, old.size);
      writeFileSync(join(src, 'b.txt'), 'beta');
      r = await fast('run');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(
        readFileSync(join(ftp.root, 'docs', 'b.txt'), 'utf8'),
        'beta',
        'the job ran: new schedule',
      );
      assert.ok(state().lastRunMs > st.lastRunMs);
      assert.equal(state().next.schedule, '* * * * *');
    } finally {
      writeConfig('0 3 * * *');
    }
  });

  it('ignores a corrupt or foreign cache file and rewrites it', async () => {
    const cache = configCachePath(env, configFile);
    for (const junk of [
      '{"format":1,"code',
      '[]',
      'null',
      JSON.stringify({ format: 1, config: { jobs: 1 } }),
    ]) {
      writeFileSync(cache, junk);
      const r = await fast('run');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, '');
      const c = JSON.parse(readFileSync(cache, 'utf8'));
      assert.equal(c.config.jobs.docs.schedule, '0 3 * * *');
      assert.equal(statSync(cache).mode & 0o777, 0o600);
    }
  });

  it('a cache of other text is not used (in process)', async () => {
    let parsed = 0;
    const parse = (text: string, path: string) => {
      parsed++;
      return { path, accounts: {}, jobs: {}, vault: { path: text.length ? 'x' : 'y' } };
    };
    const other = join(box.dir, 'other.yaml');
    writeFileSync(other, 'jobs: {}\n');
    await loadConfigCached(env, other, parse);
    await loadConfigCached(env, other, parse);
    assert.equal(parsed, 1, 'the second load is a cache hit');
    writeFileSync(other, 'jobs: {} \n');
    await loadConfigCached(env, other, parse);
    assert.equal(parsed, 2, 'changed text misses');
  });

  it('an invalid config exits 2 with the same messages as the full CLI, and is not cached', async () => {
    const good = readFileSync(configFile, 'utf8');
    writeFileSync(configFile, good.replace('schedule: "0 3 * * *"', 'schedule: "0 3 * *"\n    bogus: 1'));
    try {
      const r = await fast('run');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /jobs\.docs\.schedule: schedule "0 3 \* \*" has 4 fields/);
      assert.match(r.stderr, /bogus/);
      assert.deepEqual(r, await full('run'));
      assert.equal(JSON.parse(readFileSync(configCachePath(env, configFile), 'utf8')).text, good);
    } finally {
      writeFileSync(configFile, good);
    }
  });

  it('honours --config, --config= and OTPBACKUP_CONFIG', async () => {
    const bad = join(box.dir, 'bad.yaml');
    writeFileSync(bad, 'jobs: [\n');
    for (const args of [
      ['run', '--config', bad],
      [`run`, `--config=${bad}`],
    ]) {
      const r = await fast(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.ok(r.stderr.startsWith(`otpbackup: ${bad}: 1 problem: YAML syntax`), r.stderr);
      assert.deepEqual(r, await full(...args));
    }
    const r = await node([join(ROOT, 'bin/otpbackup'), 'run'], { OTPBACKUP_CONFIG: bad });
    assert.equal(r.status, 2);
    assert.ok(r.stderr.startsWith(`otpbackup: ${bad}:`));
    // An unknown job is a usage error on both paths.
    assert.deepEqual(await fast('run', '--job', 'nope'), await full('run', '--job', 'nope'));
    assert.equal((await fast('run', '--job', 'nope')).status, 2);
  });

  it('leaves no stray files in the state directory', () => {
    const dir = join(env.XDG_STATE_HOME!, 'otpbackup', 'config-cache');
    assert.ok(readdirSync(dir).every((f) => f.endsWith('.json')));
  });
});

describe('parseFastRun', () => {
  it('takes a plain run and its options', () => {
    assert.deepEqual(parseFastRun(['run']), { opts: {}, verbose: 0, debug: false });
    assert.deepEqual(parseFastRun(['-v', 'run', '--verbose', '--json', '--config', 'c.yaml']), {
      opts: { json: true, config: 'c.yaml' },
      verbose: 2,
      debug: false,
    });
    assert.deepEqual(parseFastRun(['run', '--job=docs', '--dry-run', '--force', '--debug']), {
      opts: { job: 'docs', dryRun: true, force: true },
      verbose: 0,
      debug: true,
    });
  });

  it('leaves everything else to commander', () => {
    for (const args of [
      [],
      ['status'],
      ['run', '--help'],
      ['run', '-h'],
      ['--version'],
      ['run', 'extra'],
      ['run', '--config'],
      ['run', '--config='],
      ['run', '--config', '--json'],
      ['run', '--json', '--json'],
      ['run', '--json=1'],
      ['run', '-vv'],
      ['run', '--'],
      ['--config', 'x', 'run'],
      ['run', 'run'],
      ['upload', 'run'],
    ]) {
      assert.equal(parseFastRun(args), undefined, args.join(' '));
    }
  });
});
