// The text of what `otpbackup schedule` installs: a crontab line or a systemd user service + timer.
// Pure functions; the command module does the I/O. The entries only start `otpbackup run` every few
// minutes: which jobs are due is decided by each job's own schedule, not by cron.
import { OtpBackupError } from '../errors.js';

/** Trailing comment marking our crontab line; `sh` (which cron runs lines with) ignores it. */
export const CRON_MARKER = '# otpbackup';

export interface EntryOptions {
  node: string;
  bin: string;
  /** Minutes between two `otpbackup run`s. */
  every: number;
  /** Passed as `run --config PATH` when set. */
  config?: string;
  /** Variables the entry sets for `run` (non-default XDG paths it depends on); never secrets. */
  env?: Record<string, string>;
  /** systemd: the optional EnvironmentFile= of the service (where a passphrase may go). */
  envFile?: string;
}

export function parseEvery(v: string | undefined): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 59)
    throw new OtpBackupError('usage', `--every: expected whole minutes from 1 to 59, got "${v}"`, {
      hint: 'each job keeps its own schedule; this is only how often otpbackup checks which are due',
    });
  return n;
}

/** Single-quotes for sh when needed; cron additionally treats an unescaped % as a newline. */
function shQuote(s: string): string {
  const q = /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
  return q.replace(/%/g, '\\%');
}

function runArgs(o: EntryOptions): string[] {
  return [o.node, o.bin, 'run', ...(o.config ? ['--config', o.config] : [])];
}

/** The name of the systemd template started when otpbackup.service fails (`%n` = the failed unit). */
export const NOTIFY_TEMPLATE = 'otpbackup-notify@.service';

/** `NAME=value` words for sh, before the command (cron runs the line with /bin/sh). */
function envWords(o: EntryOptions): string[] {
  return Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${shQuote(v)}`);
}

export function cronLine(o: EntryOptions): string {
  const minute = o.every === 1 ? '*' : `*/${o.every}`;
  return `${minute} * * * * ${[...envWords(o), ...runArgs(o).map(shQuote)].join(' ')} ${CRON_MARKER}`;
}

/** The command part of our crontab line: what cron hands to /bin/sh -c. */
export function cronCommand(line: string): string {
  return line
    .replace(/^(\S+\s+){5}/, '')
    .replace(/\s*# otpbackup\s*$/, '')
    .replace(/\\%/g, '%');
}

export function isOurCronLine(line: string): boolean {
  return line.trimEnd().endsWith(CRON_MARKER);
}

/** The crontab with our line replaced (or added, or with `line` undefined removed); other lines untouched. */
export function mergeCrontab(current: string, line: string | undefined): string {
  const kept = current.split('\n').filter((l) => !isOurCronLine(l));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  if (line !== undefined) kept.push(line);
  return kept.length ? `${kept.join('\n')}\n` : '';
}

/** systemd ExecStart quoting: double quotes, with `%` doubled (specifier escape). */
function sdQuote(s: string): string {
  const q = /^[\w@+=:,./-]+$/.test(s) ? s : `"${s.replace(/(["\\])/g, '\\$1')}"`;
  return q.replace(/%/g, '%%');
}

/** Environment= and EnvironmentFile= lines both services share. */
function serviceEnv(o: EntryOptions): string {
  return `${Object.entries(o.env ?? {})
    .map(([k, v]) => `Environment=${sdQuote(`${k}=${v}`)}\n`)
    .join(
      '',
    )}${o.envFile ? `# KEY=value lines (chmod 600), e.g. OTPBACKUP_PASSPHRASE=…; "-": it may be missing\nEnvironmentFile=-${o.envFile.replace(/%/g, '%%')}\n` : ''}`;
}

/**
 * otpbackup.service, its timer, and otpbackup-notify@.service: started by OnFailure= when the run
 * fails, it runs `schedule on-failure UNIT`, which reports the failure through the configured
 * hooks.onFailure and notify ping — unless the run got far enough to report it itself.
 */
export function systemdUnits(o: EntryOptions): { service: string; timer: string; notify: string } {
  const service = `# Written by \`otpbackup schedule install --systemd\`.
[Unit]
Description=otpbackup: back up the jobs that are due
After=network-online.target
# A run that fails (a crash, a kill, a broken config included) starts the failure report.
OnFailure=otpbackup-notify@%n.service

[Service]
Type=oneshot
${serviceEnv(o)}ExecStart=${runArgs(o).map(sdQuote).join(' ')}
`;
  const timer = `# Written by \`otpbackup schedule install --systemd\`.
[Unit]
Description=Run otpbackup every ${o.every} minute${o.every === 1 ? '' : 's'}

[Timer]
OnCalendar=*:0/${o.every}
Persistent=true

[Install]
WantedBy=timers.target
`;
  const notify = `# Written by \`otpbackup schedule install --systemd\`.
# Started by OnFailure= of otpbackup.service: runs hooks.onFailure and the notify failure ping of
# the config, unless the failed run already did (systemd passes MONITOR_* variables to it).
[Unit]
Description=otpbackup: report that %i failed

[Service]
Type=oneshot
${serviceEnv(o)}ExecStart=${[o.node, o.bin, 'schedule', 'on-failure', ...(o.config ? ['--config', o.config] : [])].map(sdQuote).join(' ')} %i
`;
  return { service, timer, notify };
}
