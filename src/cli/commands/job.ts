// `otpbackup job add|list|show|remove`. On a terminal `job add` asks for what the flags left out.
// Non-interactive: every setting is a flag, and the new job goes
// through the same schema validation as a hand-edited config, so a bad schedule is reported the same way.
import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config, Job } from '../../config/types.js';
import { OtpBackupError, usageError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { JOB_DIR_HELP } from '../remote-help.js';
import { printJson } from '../report.js';

interface CommonOpts {
  config?: string;
  json?: boolean;
}

export interface JobAddOptions extends CommonOpts {
  account: string;
  source: string[];
  exclude?: string[];
  include?: string[];
  remoteDir?: string;
  schedule?: string;
  timezone?: string;
  mode?: string;
  delete?: boolean;
  keep?: string;
  keepDays?: string;
  checksum?: boolean;
  followSymlinks?: boolean;
  /** --allow-missing: accept a source that does not exist yet (a mount, a directory made later). */
  allowMissing?: boolean;

  copyFirst?: boolean;
  bwlimit?: string;
}

/** `job edit`: the flags of `job add`, each optional; booleans also have a --no- form. */
export interface JobEditOptions
  extends Partial<Omit<JobAddOptions, 'delete' | 'checksum' | 'followSymlinks' | 'copyFirst'>> {
  delete?: boolean;
  checksum?: boolean;
  followSymlinks?: boolean;
  copyFirst?: boolean;
}

const BWLIMIT_HELP = 'cap its transfer rate, bytes per second: 500k, 1M, 1.5G (0 = none)';
const collect = (v: string, prev: string[] = []) => [...prev, v];
const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}\n`).join('')}`;

async function load(ctx: CliContext, opts: CommonOpts): Promise<Config> {
  const { loadConfig } = await import('../../config/load.js');
  return loadConfig(ctx.env, opts.config);
}

function getJob(config: Config, name: string): Job {
  const j = config.jobs[name];
  if (!j) {
    const names = Object.keys(config.jobs);
    throw usageError(
      `no job "${name}" in ${config.path}`,
      names.length ? `known jobs: ${names.join(', ')}` : 'add one with `otpbackup job add`',
    );
  }
  return j;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw usageError(`${flag}: expected a whole number ≥ 1, got "${v}"`, `e.g. ${flag} 10`);
  return Number(v);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** ISO time of the next run, or null when the job is due now (never ran, or a slot was missed). */
async function nextDue(job: Job, ctx: CliContext): Promise<string | null> {
  const [{ readJobState }, { isDue, nextRun }] = await Promise.all([
    import('../../backup/job-state.js'),
    import('../../schedule/due.js'),
  ]);
  const now = ctx.clock.now();
  const { lastRunMs } = await readJobState(ctx.env, job.name, { readOnly: true });
  if (isDue(job.schedule, lastRunMs, now, job.timezone)) return null;
  return new Date(nextRun(job.schedule, lastRunMs ?? now, job.timezone)).toISOString();
}

/** Absolute sources (cron runs elsewhere), each existing unless --allow-missing. */
async function checkedSources(given: string[], opts: { allowMissing?: boolean }, ctx: CliContext) {
  const sources = given.map((s) => (isAbsolute(s) ? s : resolve(ctx.cwd, s)));
  if (!opts.allowMissing) {
    const { lstat } = await import('node:fs/promises');
    for (const s of sources) {
      const gone = await lstat(s).then(
        () => false,
        (e: NodeJS.ErrnoException) => e.code === 'ENOENT' || e.code === 'ENOTDIR',
      );
      if (gone)
        throw usageError(
          `--source: ${s} does not exist`,
          'check the path; pass --allow-missing if it will exist by the time the job runs (e.g. a mount)',
        );
    }
  }
  return sources;
}

/**
 * `otpbackup job edit NAME --flag…`: changes only what the flags say; the config is edited in place
 * (config/save.ts), so comments and every key not changed stay as they were. A list flag (--source,
 * --exclude, --include) replaces that list. Bad values are refused with the flag and the fix; the
 * whole config is validated before anything is written.
 */
export async function editJob(name: string, opts: JobEditOptions, ctx: CliContext): Promise<Job> {
  const { saveJob } = await import('../../config/save.js');
  const config = await load(ctx, opts);
  const job: Job = structuredClone(getJob(config, name));
  if (opts.account !== undefined) {
    if (!config.accounts[opts.account]) {
      const names = Object.keys(config.accounts);
      throw usageError(
        `--account: no account "${opts.account}" in ${config.path}`,
        names.length ? `known accounts: ${names.join(', ')}` : 'add one with `otpbackup account add`',
      );
    }
    job.account = opts.account;
  }
  if (opts.mode !== undefined) {
    if (opts.mode !== 'mirror' && opts.mode !== 'versions')
      throw usageError(
        `--mode: expected mirror or versions, got "${opts.mode}"`,
        'mirror keeps one copy of each file; versions keeps older copies too',
      );
    job.mode = opts.mode;
  }
  if (opts.schedule !== undefined) job.schedule = opts.schedule;
  if (opts.timezone !== undefined) {
    if (opts.timezone === '') delete job.timezone;
    else job.timezone = opts.timezone;
  }
  if (opts.schedule !== undefined || opts.timezone !== undefined) {
    const { validateSchedule } = await import('../../schedule/due.js');
    validateSchedule(job.schedule, job.timezone, { field: `jobs.${name}.schedule` });
  }
  if (opts.source?.length) job.sources = await checkedSources(opts.source, opts, ctx);
  if (opts.exclude) job.exclude = opts.exclude;
  if (opts.include) job.include = opts.include;
  if (opts.remoteDir !== undefined) job.remoteDir = opts.remoteDir;
  if (opts.delete !== undefined) job.delete = opts.delete;
  if (opts.checksum !== undefined) job.checksum = opts.checksum;
  if (opts.followSymlinks !== undefined) job.symlinks = opts.followSymlinks ? 'follow' : 'skip';
  if (opts.copyFirst !== undefined) {
    if (opts.copyFirst) job.copyFirst = true;
    else delete job.copyFirst;
  }
  const keep = positiveInt('--keep', opts.keep);
  const days = positiveInt('--keep-days', opts.keepDays);
  if (keep !== undefined || days !== undefined) {
    job.retention = { ...job.retention };
    if (keep !== undefined) job.retention.keep = keep;
    if (days !== undefined) job.retention.days = days;
  }
  if (opts.bwlimit !== undefined) {
    const { rateOrThrow } = await import('../../transport/bwlimit.js');
    const rate = rateOrThrow(opts.bwlimit, '--bwlimit');
    job.bwlimit = rate;
  }
  const saved = await saveJob(ctx.env, opts.config, job);
  const result = saved.jobs[name] ?? job;
  if (opts.json) printJson(ctx, { edited: name, config: saved.path, job: result }, { pretty: true });
  else ctx.stdout.write(`changed job ${name} in ${saved.path}\n`);
  return result;
}

export async function addJob(name: string, opts: JobAddOptions, ctx: CliContext): Promise<Job> {
  const [{ NAME_RE, DEFAULTS }, { saveJob }] = await Promise.all([
    import('../../config/schema.js'),
    import('../../config/save.js'),
  ]);
  if (!NAME_RE.test(name))
    throw usageError(`job name "${name}" is not allowed`, 'use letters, digits, ".", "_" and "-"');
  const config = await load(ctx, opts);
  if (config.jobs[name])
    throw usageError(`job "${name}" already exists`, 'remove it first, or pick another name');
  if (!config.accounts[opts.account]) {
    const names = Object.keys(config.accounts);
    throw usageError(
      `--account: no account "${opts.account}" in ${config.path}`,
      names.length ? `known accounts: ${names.join(', ')}` : 'add one with `otpbackup account add`',
    );
  }
  if (opts.mode !== undefined && opts.mode !== 'mirror' && opts.mode !== 'versions')
    throw usageError(
      `--mode: expected mirror or versions, got "${opts.mode}"`,
      'mirror keeps one copy of each file; versions keeps older copies too',
    );
  if (opts.schedule !== undefined || opts.timezone !== undefined) {
    // Checked here too so the message names the job's field without a line of a file not yet written.
    const { validateSchedule } = await import('../../schedule/due.js');
    validateSchedule(opts.schedule ?? DEFAULTS.job.schedule, opts.timezone, {
      field: `jobs.${name}.schedule`,
    });
  }
  const keep = positiveInt('--keep', opts.keep);
  const days = positiveInt('--keep-days', opts.keepDays);
  // Cron runs from another directory: a relative source would point somewhere else there. A source
  // that is not there would make every run end "partial" (as rclone refuses a missing source
  // directory); --allow-missing is for a mount or a directory made later.
  const sources = await checkedSources(opts.source, opts, ctx);
  const d = DEFAULTS.job;
  const job: Job = {
    name,
    account: opts.account,
    sources,
    remoteDir: opts.remoteDir ?? name,
    schedule: opts.schedule ?? d.schedule,
    symlinks: opts.followSymlinks ? 'follow' : 'skip',
    mode: (opts.mode as Job['mode'] | undefined) ?? d.mode,
    delete: Boolean(opts.delete),
    checksum: Boolean(opts.checksum),
  };
  if (opts.include?.length) job.include = opts.include;
  if (opts.exclude?.length) job.exclude = opts.exclude;
  if (opts.timezone) job.timezone = opts.timezone;
  if (opts.copyFirst) job.copyFirst = true;
  if (opts.bwlimit !== undefined) {
    const { rateOrThrow } = await import('../../transport/bwlimit.js');
    job.bwlimit = rateOrThrow(opts.bwlimit, '--bwlimit');
  }
  if (keep !== undefined || days !== undefined) {
    job.retention = {};
    if (keep !== undefined) job.retention.keep = keep;
    if (days !== undefined) job.retention.days = days;
  }
  // Validates the whole config (schedule, time zone, ...); an invalid job writes nothing.
  const saved = await saveJob(ctx.env, opts.config, job);
  const result = saved.jobs[name] ?? job;
  if (opts.json) printJson(ctx, { added: name, config: saved.path, job: result }, { pretty: true });
  else ctx.stdout.write(`added job ${name} to ${saved.path} (schedule ${result.schedule})\n`);
  return result;
}

export async function listJobs(opts: CommonOpts, ctx: CliContext) {
  const config = await load(ctx, opts);
  const jobs = [];
  for (const j of Object.values(config.jobs)) {
    jobs.push({
      name: j.name,
      account: j.account,
      schedule: j.schedule,
      timezone: j.timezone ?? null,
      nextDue: await nextDue(j, ctx),
    });
  }
  if (opts.json) printJson(ctx, { config: config.path, jobs }, { pretty: true });
  else if (!jobs.length) ctx.stdout.write(`no jobs in ${config.path}\n`);
  else
    ctx.stdout.write(
      table([
        ['NAME', 'ACCOUNT', 'SCHEDULE', 'NEXT DUE'],
        ...jobs.map((j) => [
          j.name,
          j.account,
          j.schedule + (j.timezone ? ` (${j.timezone})` : ''),
          j.nextDue ?? 'now',
        ]),
      ]),
    );
  return jobs;
}

export async function showJob(name: string, opts: CommonOpts, ctx: CliContext): Promise<Job> {
  const j = getJob(await load(ctx, opts), name);
  const next = await nextDue(j, ctx);
  if (opts.json) {
    printJson(ctx, { job: j, nextDue: next }, { pretty: true });
    return j;
  }
  const lines = [
    `name:       ${j.name}`,
    `account:    ${j.account}`,
    `sources:    ${j.sources.join(', ')}`,
    `remote dir: ${j.remoteDir}`,
    `schedule:   ${j.schedule}${j.timezone ? ` (${j.timezone})` : ''}`,
    `next due:   ${next ?? 'now'}`,
    `mode:       ${j.mode}${j.delete ? ', delete remote files gone locally' : ''}${j.checksum ? ', checksum' : ''}`,
    `symlinks:   ${j.symlinks}`,
  ];
  if (j.copyFirst) lines.push('copy first: yes (a local copy of each file is uploaded)');
  if (j.include?.length) lines.push(`include:    ${j.include.join(', ')}`);
  if (j.exclude?.length) lines.push(`exclude:    ${j.exclude.join(', ')}`);
  if (j.retention) {
    const r = [
      j.retention.keep && `keep ${j.retention.keep}`,
      j.retention.days && `${j.retention.days} days`,
    ];
    lines.push(`retention:  ${r.filter(Boolean).join(', ')}`);
  }
  ctx.stdout.write(`${lines.join('\n')}\n`);
  return j;
}

export async function removeJobCommand(name: string, opts: CommonOpts & { yes?: boolean }, ctx: CliContext) {
  getJob(await load(ctx, opts), name);
  if (!opts.yes) {
    if (!ctx.stdin.isTTY) throw usageError(`removing job "${name}" needs confirmation`, 'pass --yes');
    const { confirm } = await import('@inquirer/prompts');
    const ok = await confirm({ message: `Remove job "${name}"? (remote files stay)`, default: false });
    if (!ok) throw new OtpBackupError('interrupted', 'not removed');
  }
  const { removeJob } = await import('../../config/save.js');
  const saved = await removeJob(ctx.env, opts.config, name);
  if (opts.json) printJson(ctx, { removed: name, config: saved.path });
  else ctx.stdout.write(`removed job ${name} from ${saved.path}; remote files were left alone\n`);
}

const ADD_EXAMPLES = `
Remote layout: with one --source, its contents go straight into the remote directory; with several,
each goes into a sub-directory named after it (Documents/, Notes/). Adding a second source to a job
later therefore moves the first one's files one level down: they are uploaded again, and the old
copies stay (or are deleted with --delete). Give a new source its own job to keep the layout.

Examples:
  $ otpbackup job add photos --account nas --source ~/Pictures --schedule "30 2 * * *"
  $ otpbackup job add docs --account nas --source ~/Documents --source ~/Notes \\
      --exclude "*.tmp" --exclude node_modules --mode versions --keep 10 --keep-days 90
  $ otpbackup job add work --account box --source . --schedule @hourly --timezone Europe/Berlin
  $ otpbackup job add site --account box --source ~/site --remote-dir .   # the account's directory itself
`;

/** Asks for what the flags left out (Enter takes the default shown), then adds as from flags. */
async function addJobInteractive(name: string | undefined, opts: Partial<JobAddOptions>, ctx: CliContext) {
  const [{ input, select }, { interruptible }, { NAME_RE, DEFAULTS }, { validateSchedule }] =
    await Promise.all([
      import('@inquirer/prompts'),
      import('../account-interactive.js'),
      import('../../config/schema.js'),
      import('../../schedule/due.js'),
    ]);
  const config = await load(ctx, opts);
  const accounts = Object.keys(config.accounts);
  if (!opts.account && !accounts.length)
    throw usageError(`no accounts in ${config.path}`, 'add one first with `otpbackup account add`');
  const list = (v: string) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const o = await interruptible(async () => {
    const n =
      name ??
      (await input({
        message: 'Job name:',
        validate: (v) =>
          (NAME_RE.test(v) && !config.jobs[v]) ||
          (config.jobs[v] ? 'that job exists' : 'letters, digits, ".", "_" and "-"'),
      }));
    const account =
      opts.account ??
      (accounts.length === 1
        ? accounts[0]!
        : await select({ message: 'Account:', choices: accounts.map((a) => ({ name: a, value: a })) }));
    const source = opts.source?.length
      ? opts.source
      : list(
          await input({
            message: 'Sources (files or directories, comma-separated):',
            validate: (v) => list(v).length > 0 || 'at least one path',
          }),
        );
    const exclude =
      opts.exclude ?? list(await input({ message: 'Exclude (gitignore globs, comma-separated, optional):' }));
    const remoteDir = opts.remoteDir ?? (await input({ message: 'Remote directory:', default: n }));
    const schedule =
      opts.schedule ??
      (await input({
        message: 'Schedule (cron expression or @hourly/@daily):',
        default: DEFAULTS.job.schedule,
        validate: (v) => {
          try {
            validateSchedule(v, opts.timezone, { field: 'schedule' });
            return true;
          } catch (e) {
            return (e as Error).message;
          }
        },
      }));
    const mode =
      opts.mode ??
      (await select({
        message: 'Mode:',
        choices: [
          { name: 'mirror: the remote copy mirrors the sources', value: 'mirror' },
          { name: 'versions: keep older copies of changed and deleted files', value: 'versions' },
        ],
      }));
    return {
      name: n,
      opts: { ...opts, account, source, exclude, remoteDir, schedule, mode } as JobAddOptions,
    };
  });
  return addJob(o.name, o.opts, ctx);
}

export function register(program: Command, ctx: CliContext): void {
  const job = program
    .command('job')
    .description('manage backup jobs (what to back up, where, and when)')
    .addHelpText(
      'after',
      `
Examples:
  $ otpbackup job add photos --account nas --source ~/Pictures --schedule "30 2 * * *"
  $ otpbackup job list
  $ otpbackup job show photos --json
  $ otpbackup job remove photos --yes
`,
    );
  job
    .command('add [name]')
    .description('add a job from flags, or interactively on a terminal')
    .option('--account <name>', 'account to back up to (required without a terminal)')
    .option(
      '--source <path>',
      'file or directory to back up (repeatable; required without a terminal)',
      collect,
    )
    .option('--exclude <glob>', 'gitignore-style pattern to leave out (repeatable)', collect)
    .option('--include <glob>', 'only back up matching files (repeatable)', collect)
    .option('--remote-dir <dir>', JOB_DIR_HELP)
    .option(
      '--schedule <expr>',
      'cron expression or @hourly/@daily/@weekly/@monthly/@yearly (default @daily)',
    )
    .option('--timezone <tz>', 'IANA time zone for the schedule (default: local)')
    .option('--mode <mode>', 'mirror (default) or versions')
    .option('--delete', 'delete remote files that are gone locally (mirror)')
    .option('--keep <n>', 'versions mode: keep at most N versions per file')
    .option('--keep-days <d>', 'versions mode: drop versions older than D days')
    .option('--checksum', 'compare content hashes, not only size and mtime')
    .option('--follow-symlinks', 'back up what symbolic links point to (default: skip them)')
    .option('--allow-missing', 'accept a --source that does not exist yet (a mount, made later)')

    .option(
      '--copy-first',
      'copy each file locally and upload the copy (for files rewritten all the time: mbox, VM images)',
    )
    .option('--bwlimit <rate>', BWLIMIT_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', ADD_EXAMPLES)
    .action(async (name: string | undefined, opts: Partial<JobAddOptions>) => {
      if ((!name || !opts.account || !opts.source?.length) && ctx.stdin.isTTY && ctx.stdout.isTTY) {
        await addJobInteractive(name, opts, ctx);
        return;
      }
      if (!name)
        throw usageError(
          'job add: the job name is missing',
          'otpbackup job add NAME --account ... --source ...',
        );
      if (!opts.account)
        throw usageError('job add: --account is missing', 'or run it on a terminal to be asked');
      if (!opts.source?.length)
        throw usageError('job add: --source is missing', 'or run it on a terminal to be asked');
      await addJob(name, opts as JobAddOptions, ctx);
    });
  job
    .command('edit <name>')
    .description("change a job's settings; comments and everything else in the config stay")
    .option('--account <name>', 'account to back up to')
    .option('--source <path>', 'file or directory to back up (repeatable; replaces the list)', collect)
    .option(
      '--exclude <glob>',
      'gitignore-style pattern to leave out (repeatable; replaces the list)',
      collect,
    )
    .option('--include <glob>', 'only back up matching files (repeatable; replaces the list)', collect)
    .option('--remote-dir <dir>', JOB_DIR_HELP)
    .option('--schedule <expr>', 'cron expression or @hourly/@daily/@weekly/@monthly/@yearly')
    .option('--timezone <tz>', "IANA time zone for the schedule ('' for local)")
    .option('--mode <mode>', 'mirror or versions')
    .option('--delete', 'delete remote files that are gone locally (mirror)')
    .option('--no-delete', 'keep remote files that are gone locally')
    .option('--keep <n>', 'versions mode: keep at most N versions per file')
    .option('--keep-days <d>', 'versions mode: drop versions older than D days')
    .option('--checksum', 'compare content hashes, not only size and mtime')
    .option('--no-checksum', 'compare size and mtime only')
    .option('--follow-symlinks', 'back up what symbolic links point to')
    .option('--no-follow-symlinks', 'skip symbolic links')
    .option('--allow-missing', 'accept a --source that does not exist yet (a mount, made later)')
    .option('--copy-first', 'copy each file locally and upload the copy')
    .option('--no-copy-first', 'upload the files themselves')
    .option('--bwlimit <rate>', BWLIMIT_HELP)
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      examples(
        'otpbackup job edit photos --schedule "0 3 * * *" --bwlimit 2M',
        'otpbackup job edit photos --no-delete',
      ),
    )
    .action(async (name: string, opts: JobEditOptions) => {
      await editJob(name, opts, ctx);
    });
  job
    .command('list')
    .description('list the jobs with their schedule and next due time')
    .option('--json', 'print JSON')
    .addHelpText('after', examples('otpbackup job list', 'otpbackup job list --json'))
    .action(async (opts: CommonOpts) => {
      await listJobs(opts, ctx);
    });
  job
    .command('show <name>')
    .description('show one job')
    .option('--json', 'print JSON')
    .addHelpText('after', examples('otpbackup job show photos', 'otpbackup job show photos --json'))
    .action(async (name: string, opts: CommonOpts) => {
      await showJob(name, opts, ctx);
    });
  job
    .command('remove <name>')
    .description('remove a job from the config (remote files stay)')
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      examples('otpbackup job remove photos', 'otpbackup job remove photos --yes   # from a script'),
    )
    .action(async (name: string, opts: CommonOpts & { yes?: boolean }) => {
      await removeJobCommand(name, opts, ctx);
    });
}
