// `otpbackup schedule print|install|remove`: hooks `otpbackup run` into cron (default) or a systemd user
// timer. The crontab is edited through the `crontab` program (env OTPBACKUP_CRONTAB overrides it, so
// tests never touch a real crontab); systemd units are written but systemctl is left to the user.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { OtpBackupError } from '../../errors.js';
import type { SecretProblem } from '../../schedule/check.js';
import { type EntryOptions, NOTIFY_TEMPLATE } from '../../schedule/entries.js';
import type { CliContext } from '../context.js';
import { printJson } from '../report.js';

export interface ScheduleOptions {
  every?: string;
  systemd?: boolean;
  config?: string;
  json?: boolean;
  /** Write the entry even when a scheduled run could not get its secrets. */
  force?: boolean;
  /** check: read KEY=value lines as systemd's EnvironmentFile= would, then check. */
  environmentFile?: string;
}

const ENABLE = 'systemctl --user daemon-reload && systemctl --user enable --now otpbackup.timer';
const DISABLE = 'systemctl --user disable --now otpbackup.timer';

/** The package's own bin shim: stable, unlike argv[1] (which may be a symlink or a dev runner). */
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}\n`).join('')}`;

const BIN = fileURLToPath(new URL('../../../bin/otpbackup', import.meta.url));

/** The XDG variables otpbackup reads; carried into the entry when they differ from the default. */
const CARRIED = [
  ['XDG_CONFIG_HOME', '.config'],
  ['XDG_STATE_HOME', join('.local', 'state')],
] as const;

async function entryOptions(opts: ScheduleOptions, ctx: CliContext): Promise<EntryOptions> {
  const [{ parseEvery }, { configDir }] = await Promise.all([
    import('../../schedule/entries.js'),
    import('../../config/paths.js'),
  ]);
  const o: EntryOptions = { node: process.execPath, bin: BIN, every: parseEvery(opts.every) };
  // The config `run` must read: --config, else OTPBACKUP_CONFIG from this shell (gone under cron).
  const config = opts.config ?? (ctx.env.OTPBACKUP_CONFIG || undefined);
  if (config) o.config = resolve(ctx.cwd, config);
  const home = ctx.env.HOME || homedir();
  const env: Record<string, string> = {};
  for (const [name, dflt] of CARRIED) {
    const v = ctx.env[name];
    if (v && resolve(ctx.cwd, v) !== join(home, dflt)) env[name] = resolve(ctx.cwd, v);
  }
  if (Object.keys(env).length) o.env = env;
  if (opts.systemd) o.envFile = join(configDir(ctx.env), 'systemd.env');
  return o;
}

/**
 * The environment the scheduler starts `run` with: what cron (or the systemd user manager) sets,
 * plus what the entry itself sets. None of this shell's exports, no terminal.
 */
export function schedulerEnv(o: EntryOptions, systemd: boolean, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const user = env.USER || env.LOGNAME || userInfo().username;
  const out: NodeJS.ProcessEnv = {
    HOME: env.HOME || homedir(),
    LOGNAME: user,
    USER: user,
    SHELL: '/bin/sh',
    PATH: systemd ? '/usr/local/bin:/usr/bin:/bin' : '/usr/bin:/bin',
  };
  if (systemd && env.XDG_RUNTIME_DIR) {
    // The user manager runs in the login session's runtime dir and bus.
    out.XDG_RUNTIME_DIR = env.XDG_RUNTIME_DIR;
    out.DBUS_SESSION_BUS_ADDRESS = `unix:path=${env.XDG_RUNTIME_DIR}/bus`;
  }
  Object.assign(out, o.env);
  return out;
}

/** systemd EnvironmentFile= syntax, the common part: KEY=value, optional quotes, # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2] ?? '';
    if (/^(['"]).*\1$/.test(v)) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** Runs `schedule check` as the scheduler would start `run`; the problems it found. */
async function scheduledProblems(
  o: EntryOptions,
  systemd: boolean,
  ctx: CliContext,
): Promise<SecretProblem[]> {
  const env = schedulerEnv(o, systemd, ctx.env);
  // The EnvironmentFile (which may hold a passphrase) is read by the child itself, so no secret
  // travels in a child's environment from here.
  const args = [
    o.bin,
    'schedule',
    'check',
    '--json',
    ...(o.config ? ['--config', o.config] : []),
    ...(systemd && o.envFile ? ['--environment-file', o.envFile] : []),
  ];
  return new Promise((done, fail) => {
    const child = spawn(o.node, args, {
      env,
      cwd: env.HOME,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e) => fail(new OtpBackupError('internal', `cannot start ${o.node}: ${e.message}`)));
    child.on('close', (code) => {
      try {
        const r = JSON.parse(out) as { problems?: SecretProblem[] };
        if (Array.isArray(r.problems)) return done(r.problems);
      } catch {}
      // Not even the check ran (a broken config, say): that is what the scheduled run would hit too.
      const line = err.split('\n').find((l) => l.trim()) ?? `exit code ${code}`;
      done([
        {
          job: '*',
          account: '*',
          field: 'config',
          scheme: 'config',
          message: line.replace(/^otpbackup:\s*/, ''),
        },
      ]);
    });
  });
}

/** Refuses (unless --force) an entry whose runs could not get their secrets. */
async function checkScheduled(o: EntryOptions, opts: ScheduleOptions, ctx: CliContext): Promise<void> {
  const problems = await scheduledProblems(o, Boolean(opts.systemd), ctx);
  if (!problems.length) return;
  const { fixHint } = await import('../../schedule/check.js');
  const who = opts.systemd ? 'the systemd timer' : 'cron';
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  const message = `started by ${who} (no terminal, none of this shell's exports), job ${first.job} would fail: ${first.message}${more}`;
  const { configDir } = await import('../../config/paths.js');
  const hint = fixHint(
    problems,
    opts.systemd ? 'systemd' : 'cron',
    o.envFile ?? join(configDir(ctx.env), 'systemd.env'),
  );
  if (!opts.force)
    throw new OtpBackupError('config', message, {
      hint,
      details: problems.map((p) => `job ${p.job}: ${p.message}`),
    });
  ctx.stderr.write(`otpbackup: warning (--force): ${message}\n`);
}

/** `schedule check`: can every job's account get its secrets in THIS environment (no terminal asked)? */
export async function checkSchedule(opts: ScheduleOptions, ctx: CliContext) {
  const [{ loadConfig }, { checkJobSecrets }] = await Promise.all([
    import('../../config/load.js'),
    import('../../schedule/check.js'),
  ]);
  let env = ctx.env;
  if (opts.environmentFile) {
    const { readFile } = await import('node:fs/promises');
    // Missing is fine, as with systemd's "EnvironmentFile=-".
    const text = await readFile(resolve(ctx.cwd, opts.environmentFile), 'utf8').catch(() => '');
    env = { ...ctx.env, ...parseEnvFile(text) };
  }
  const config = await loadConfig(env, opts.config);
  const problems = await checkJobSecrets(config, env);
  if (opts.json) ctx.stdout.write(`${JSON.stringify({ ok: problems.length === 0, problems })}\n`);
  else if (!problems.length)
    ctx.stdout.write(`every job's secrets resolve here (${Object.keys(config.jobs).length} job(s))\n`);
  else for (const p of problems) ctx.stdout.write(`job ${p.job}: ${p.message}\n`);
  if (problems.length) ctx.exitCode = 2;
}

function unitDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'systemd', 'user');
}

/** Runs the crontab program; resolves its stdout, or rejects with the exit code and stderr. */
function crontab(ctx: CliContext, args: string[], input?: string): Promise<string> {
  const prog = ctx.env.OTPBACKUP_CRONTAB || 'crontab';
  return new Promise((done, fail) => {
    const child = spawn(prog, args, { env: ctx.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      fail(
        new OtpBackupError('local', `cannot run ${prog}: ${e.code ?? e.message}`, {
          hint: 'install cron, or use --systemd for a systemd user timer',
        }),
      );
    });
    child.on('close', (code) => {
      if (code === 0) done(out);
      else fail(Object.assign(new Error(err.trim() || `exit code ${code}`), { exitCode: code, stderr: err }));
    });
    child.stdin.on('error', () => {}); // a program that exits without reading must not crash us
    child.stdin.end(input ?? '');
  });
}

async function readCrontab(ctx: CliContext): Promise<string> {
  try {
    return await crontab(ctx, ['-l']);
  } catch (e) {
    if (e instanceof OtpBackupError) throw e;
    // "no crontab for USER" is an empty table, not an error.
    if (/no crontab/i.test((e as Error).message)) return '';
    throw new OtpBackupError('local', `crontab -l failed: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'check that cron is installed and you may use it (cron.allow / cron.deny)',
    });
  }
}

async function writeCrontab(ctx: CliContext, text: string): Promise<void> {
  try {
    await crontab(ctx, ['-'], text);
  } catch (e) {
    if (e instanceof OtpBackupError) throw e;
    throw new OtpBackupError('local', `crontab - failed: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'your crontab was not changed; check that you may use cron (cron.allow / cron.deny)',
    });
  }
}

export async function printSchedule(opts: ScheduleOptions, ctx: CliContext) {
  const { cronLine, systemdUnits } = await import('../../schedule/entries.js');
  const o = await entryOptions(opts, ctx);
  await checkScheduled(o, opts, ctx);
  if (!opts.systemd) {
    const line = cronLine(o);
    if (opts.json) printJson(ctx, { crontab: line });
    else ctx.stdout.write(`${line}\n`);
    return;
  }
  const { service, timer, notify } = systemdUnits(o);
  const dir = unitDir(ctx.env);
  if (opts.json) {
    printJson(
      ctx,
      {
        service: { path: join(dir, 'otpbackup.service'), text: service },
        timer: { path: join(dir, 'otpbackup.timer'), text: timer },
        notify: { path: join(dir, NOTIFY_TEMPLATE), text: notify },
      },
      { pretty: true },
    );
    return;
  }
  ctx.stdout.write(
    `# ${join(dir, 'otpbackup.service')}\n${service}\n# ${join(dir, 'otpbackup.timer')}\n${timer}\n# ${join(dir, NOTIFY_TEMPLATE)}\n${notify}\n# then: ${ENABLE}\n`,
  );
}

export async function installSchedule(opts: ScheduleOptions, ctx: CliContext) {
  const { cronLine, mergeCrontab, systemdUnits } = await import('../../schedule/entries.js');
  const o = await entryOptions(opts, ctx);
  await checkScheduled(o, opts, ctx);
  if (opts.systemd) {
    const { writeFileAtomic } = await import('../../config/state-file.js');
    const { service, timer, notify } = systemdUnits(o);
    const dir = unitDir(ctx.env);
    const files = [join(dir, 'otpbackup.service'), join(dir, 'otpbackup.timer'), join(dir, NOTIFY_TEMPLATE)];
    await writeFileAtomic(files[0]!, service, 0o644);
    await writeFileAtomic(files[1]!, timer, 0o644);
    await writeFileAtomic(files[2]!, notify, 0o644);
    if (opts.json) printJson(ctx, { installed: 'systemd', files, enable: ENABLE });
    else
      ctx.stdout.write(
        `wrote ${files.join(' and ')}\nnow run: ${ENABLE}\n(a user timer stops at logout unless: loginctl enable-linger "$USER")\n`,
      );
    return;
  }
  const line = cronLine(o);
  const current = await readCrontab(ctx);
  const next = mergeCrontab(current, line);
  const changed = next !== current;
  if (changed) await writeCrontab(ctx, next);
  if (opts.json) printJson(ctx, { installed: 'crontab', line, changed });
  else ctx.stdout.write(`${changed ? 'installed' : 'already installed'} in your crontab:\n${line}\n`);
}

export async function removeSchedule(opts: ScheduleOptions, ctx: CliContext) {
  if (opts.systemd) {
    const dir = unitDir(ctx.env);
    const removed: string[] = [];
    for (const f of ['otpbackup.timer', 'otpbackup.service', NOTIFY_TEMPLATE]) {
      const p = join(dir, f);
      try {
        await rm(p);
        removed.push(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    if (opts.json) printJson(ctx, { removed, disable: DISABLE });
    else if (!removed.length) ctx.stdout.write(`no otpbackup units in ${dir}\n`);
    else
      ctx.stdout.write(
        `removed ${removed.join(' and ')}\nif the timer was enabled, also run: ${DISABLE}; systemctl --user daemon-reload\n`,
      );
    return;
  }
  const { mergeCrontab } = await import('../../schedule/entries.js');
  const current = await readCrontab(ctx);
  const next = mergeCrontab(current, undefined);
  const changed = next !== current;
  if (changed) await writeCrontab(ctx, next);
  if (opts.json) printJson(ctx, { removed: changed });
  else
    ctx.stdout.write(
      changed ? 'removed the otpbackup line from your crontab\n' : 'no otpbackup line in your crontab\n',
    );
}

/**
 * `schedule on-failure UNIT`: what otpbackup-notify@.service runs when otpbackup.service failed. The
 * config's failure hook and ping, unless the failed run reported itself (unit-failure.ts).
 */
export async function onUnitFailure(unit: string, opts: ScheduleOptions, ctx: CliContext) {
  const [{ loadConfig }, { stateDir }, uf, { resolveSecret }] = await Promise.all([
    import('../../config/load.js'),
    import('../../config/paths.js'),
    import('../../hooks/unit-failure.js'),
    import('../../secrets/resolve.js'),
  ]);
  if (await uf.alreadyReported(stateDir(ctx.env), ctx.env.MONITOR_INVOCATION_ID)) {
    if (opts.json) printJson(ctx, { unit, reported: 'by the run itself' });
    else if (ctx.verbose > 0) ctx.stdout.write(`${unit}: the run reported its failure itself\n`);
    return;
  }
  const config = await loadConfig(ctx.env, opts.config);
  const done = await uf.reportUnitFailure(config, unit, {
    env: ctx.env,
    getSecret: (ref) => resolveSecret(ref, { env: ctx.env, config }),
    warn: (line) => ctx.stderr.write(`otpbackup: ${line}\n`),
  });
  if (opts.json) printJson(ctx, { unit, ...done });
  else if (ctx.verbose > 0)
    ctx.stdout.write(`${done.message}: ran ${done.hooks} hook(s), sent ${done.pings} ping(s)\n`);
}

export function register(program: Command, ctx: CliContext): void {
  const schedule = program
    .command('schedule')
    .description('run otpbackup periodically from cron or a systemd user timer')
    .addHelpText(
      'after',
      `
otpbackup is started every few minutes; each job's own schedule decides whether it runs.
cron and systemd start it without a terminal and without your shell's exports (an exported
OTPBACKUP_PASSPHRASE is not there): print and install first check, in such an environment, that
every job's secrets resolve, and refuse with the fix if not (--force writes it anyway). Use
vault.passphraseCommand, or --systemd with the keychain or ~/.config/otpbackup/systemd.env.

Examples:
  $ otpbackup schedule print                  # the crontab line, to paste with \`crontab -e\`
  $ otpbackup schedule install --every 5      # add (or replace) it in your crontab
  $ otpbackup schedule install --systemd      # write a systemd user service and timer instead
  $ otpbackup schedule remove                 # take the crontab line out again
`,
    );
  const sub = (name: string, description: string, ...ex: string[]) => {
    const c = schedule
      .command(name)
      .description(description)
      .option('--json', 'print JSON')
      .addHelpText('after', examples(...ex));
    if (name !== 'check') c.option('--systemd', 'a systemd user service + timer instead of a crontab line');
    // Remove needs neither: it matches our entries by marker and file name.
    if (name === 'print' || name === 'install') {
      // The global --config names the file the scheduled `run` is given.
      c.option('--every <minutes>', 'minutes between runs, 1-59 (default 1)').option(
        '--force',
        'write it even if a scheduled run could not get its secrets',
      );
    } else if (name === 'check') {
      c.option(
        '--environment-file <path>',
        "first read KEY=value lines from this file, as a systemd service's EnvironmentFile= (missing: ignored)",
      );
    }
    return c;
  };
  sub(
    'print',
    'print the crontab line (or the systemd units) without installing',
    'otpbackup schedule print',
    'otpbackup schedule print --every 5',
    'otpbackup schedule print --systemd',
  ).action(async (opts: ScheduleOptions) => {
    await printSchedule(opts, ctx);
  });
  sub(
    'install',
    'add the crontab line (replacing an older one), or write the systemd units',
    'otpbackup schedule install',
    'otpbackup schedule install --every 10',
    'otpbackup schedule install --systemd',
  ).action(async (opts: ScheduleOptions) => {
    await installSchedule(opts, ctx);
  });
  sub(
    'check',
    "check that every job's secrets resolve in this environment, without a terminal (print and install run it as cron would)",
    'env -i HOME="$HOME" PATH=/usr/bin:/bin otpbackup schedule check',
  ).action(async (opts: ScheduleOptions) => {
    await checkSchedule(opts, ctx);
  });
  schedule
    .command('on-failure <unit>')
    .description(
      'report a failed systemd run (what otpbackup-notify@.service runs): hooks.onFailure and the notify failure ping',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      examples('MONITOR_SERVICE_RESULT=exit-code otpbackup schedule on-failure otpbackup.service'),
    )
    .action(async (unit: string, opts: ScheduleOptions) => {
      await onUnitFailure(unit, opts, ctx);
    });
  sub(
    'remove',
    'remove the crontab line, or the systemd units with --systemd',
    'otpbackup schedule remove',
    'otpbackup schedule remove --systemd',
  ).action(async (opts: ScheduleOptions) => {
    await removeSchedule(opts, ctx);
  });
}
