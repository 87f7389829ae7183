// `otpbackup schedule print|install|remove`: hooks `otpbackup run` into cron (default) or a systemd user
// timer. The crontab is edited through the `crontab` program (env OTPBACKUP_CRONTAB overrides it, so
// tests never touch a real crontab); systemd units are written but systemctl is left to the user.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { OtpBackupError } from '../../errors.js';
import type { EntryOptions } from '../../schedule/entries.js';
import type { CliContext } from '../context.js';
import { printJson } from '../report.js';

export interface ScheduleOptions {
  every?: string;
  systemd?: boolean;
  config?: string;
  json?: boolean;
}

const ENABLE = 'systemctl --user daemon-reload && systemctl --user enable --now otpbackup.timer';
const DISABLE = 'systemctl --user disable --now otpbackup.timer';

/** The package's own bin shim: stable, unlike argv[1] (which may be a symlink or a dev runner). */
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}\n`).join('')}`;

const BIN = fileURLToPath(new URL('../../../bin/otpbackup', import.meta.url));

async function entryOptions(opts: ScheduleOptions, ctx: CliContext): Promise<EntryOptions> {
  const { parseEvery } = await import('../../schedule/entries.js');
  const o: EntryOptions = { node: process.execPath, bin: BIN, every: parseEvery(opts.every) };
  if (opts.config) o.config = resolve(ctx.cwd, opts.config);
  return o;
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
  if (!opts.systemd) {
    const line = cronLine(o);
    if (opts.json) printJson(ctx, { crontab: line });
    else ctx.stdout.write(`${line}\n`);
    return;
  }
  const { service, timer } = systemdUnits(o);
  const dir = unitDir(ctx.env);
  if (opts.json) {
    printJson(
      ctx,
      {
        service: { path: join(dir, 'otpbackup.service'), text: service },
        timer: { path: join(dir, 'otpbackup.timer'), text: timer },
      },
      { pretty: true },
    );
    return;
  }
  ctx.stdout.write(
    `# ${join(dir, 'otpbackup.service')}\n${service}\n# ${join(dir, 'otpbackup.timer')}\n${timer}\n# then: ${ENABLE}\n`,
  );
}

export async function installSchedule(opts: ScheduleOptions, ctx: CliContext) {
  const { cronLine, mergeCrontab, systemdUnits } = await import('../../schedule/entries.js');
  const o = await entryOptions(opts, ctx);
  if (opts.systemd) {
    const { writeFileAtomic } = await import('../../config/state-file.js');
    const { service, timer } = systemdUnits(o);
    const dir = unitDir(ctx.env);
    const files = [join(dir, 'otpbackup.service'), join(dir, 'otpbackup.timer')];
    await writeFileAtomic(files[0]!, service, 0o644);
    await writeFileAtomic(files[1]!, timer, 0o644);
    if (opts.json) printJson(ctx, { installed: 'systemd', files, enable: ENABLE });
    else ctx.stdout.write(`wrote ${files.join(' and ')}\nnow run: ${ENABLE}\n`);
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
    for (const f of ['otpbackup.timer', 'otpbackup.service']) {
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

export function register(program: Command, ctx: CliContext): void {
  const schedule = program
    .command('schedule')
    .description('run otpbackup periodically from cron or a systemd user timer')
    .addHelpText(
      'after',
      `
otpbackup is started every few minutes; each job's own schedule decides whether it runs.

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
      .option('--systemd', 'a systemd user service + timer instead of a crontab line')
      .option('--json', 'print JSON')
      .addHelpText('after', examples(...ex));
    // Remove needs neither: it matches our entries by marker and file name.
    if (name !== 'remove') {
      c.option('--every <minutes>', 'minutes between runs, 1-59 (default 1)').option(
        '--config <path>',
        'config file for `run` to use (default: the usual one)',
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
    'remove',
    'remove the crontab line, or the systemd units with --systemd',
    'otpbackup schedule remove',
    'otpbackup schedule remove --systemd',
  ).action(async (opts: ScheduleOptions) => {
    await removeSchedule(opts, ctx);
  });
}
