// Command lines of the tools compared, logging in to the password-only twins of the OTP vhosts.
// Passwords never go in argv: OpenSSH sftp uses the client key, lftp reads `open -u` from a script
// (-f), curl a netrc file, rclone RCLONE_CONFIG_* variables (password obscured).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import type { BenchContext } from './context.js';
import type { Cmd } from './measure.js';
import type { Proto } from './servers.js';

export type { Proto } from './servers.js';
export type PeerName = 'openssh-sftp' | 'curl' | 'lftp' | 'rclone';

export interface Source {
  /** Directory whose contents are uploaded into the destination directory. */
  dir: string;
  /** For single-file cases: that file (inside dir). */
  file?: string;
}

export interface Peer {
  name: string;
  /** Server user the tool logs in as (its files land in server.home(user)). */
  user: string;
  missing?: string;
  /** Logs in with a TOTP code. */
  totp?: boolean;
  cmd(src: Source, dest: string): Promise<Cmd>;
}

const BINARIES: Record<PeerName, string> = {
  'openssh-sftp': '/usr/bin/sftp',
  curl: '/usr/bin/curl',
  lftp: '/usr/bin/lftp',
  rclone: '/usr/bin/rclone',
};

/** "", "a", "a/b", ... : every directory below dir (relative, parents first). */
async function subdirs(dir: string, rel = ''): Promise<string[]> {
  const out = [rel];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true }))
    if (e.isDirectory()) out.push(...(await subdirs(dir, posix.join(rel, e.name))));
  return out;
}

function which(cmd: string): string | undefined {
  if (existsSync(cmd)) return cmd;
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${basename(cmd)}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** The otpbackup CLI, `upload` logging in once with a TOTP code (seed, and the password where the
 * server wants it with the code, in the environment). */
export function otpbackupPeer(ctx: BenchContext, proto: Proto, opts: { connections?: number } = {}): Peer {
  const s = ctx.server;
  const u = s.otp;
  const extra = opts.connections ? ['--connections', String(opts.connections)] : [];
  return {
    name: opts.connections ? `otpbackup --connections ${opts.connections}` : 'otpbackup',
    user: u.user,
    totp: true,
    async cmd(src, dest) {
      const port = u.ports[proto];
      if (!port) throw new Error(`${s.label} has no ${proto} port`);
      const trust = proto === 'sftp' ? ['--host-key', s.sshHostKeyFingerprint ?? ''] : [];
      return ctx.otpbackup(
        [
          'upload',
          src.dir,
          '--to',
          `${proto}://${u.user}@127.0.0.1:${port}${s.urlPath(u.user, dest)}`,
          ...trust,
          '--otp-reuse',
          'allow',
          ...extra,
        ],
        { OTPBACKUP_TOTP_SECRET: u.secret, ...(u.sendsPassword ? { OTPBACKUP_PASSWORD: u.password } : {}) },
      );
    },
  };
}

export function peer(
  ctx: BenchContext,
  name: PeerName,
  proto: Proto,
  opts: { parallel?: number } = {},
): Peer {
  const s = ctx.server;
  const { user, password } = s.plain;
  const port = s.plain.ports[proto] ?? 0;
  const bin = which(BINARIES[name]);
  const label = opts.parallel ? `${name} --parallel=${opts.parallel}` : name;
  const base = { name: label, user, ...(bin ? {} : { missing: `${BINARIES[name]} not found` }) };
  const key = ctx.scratchFile('client_key');
  const sshOpts = [
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
  ];
  const ensureKey = () => {
    if (!s.clientKeyPath) throw new Error(`${s.label} has no client key`);
    if (!existsSync(key)) copyFileSync(s.clientKeyPath, key);
  };
  switch (name) {
    case 'openssh-sftp':
      return {
        ...base,
        async cmd(src, dest) {
          ensureKey();
          const batch = ctx.scratchFile('sftp-batch');
          // ProFTPD cannot REALPATH a missing path, which `put -r` asks for each directory before
          // creating it: create the tree first, then put each top-level entry into its twin.
          const lines = src.file
            ? [`-mkdir ${dest}`, `put ${src.file} ${dest}/`]
            : [
                ...(await subdirs(src.dir)).map((d) => `-mkdir ${posix.join(dest, d)}`),
                `put -r ${src.dir}/* ${dest}/`,
              ];
          await writeFile(batch, `${lines.join('\n')}\n`, { mode: 0o600 });
          return {
            cmd: bin ?? 'sftp',
            args: ['-q', '-b', batch, '-i', key, '-P', String(port), ...sshOpts, `${user}@127.0.0.1`],
          };
        },
      };
    case 'curl':
      return {
        ...base,
        async cmd(src, dest) {
          if (!src.file) throw new Error('curl uploads single files only');
          const netrc = ctx.scratchFile('netrc');
          await writeFile(netrc, `machine 127.0.0.1 login ${user} password ${password}\n`, { mode: 0o600 });
          return {
            cmd: bin ?? 'curl',
            args: [
              '-sS',
              '--netrc-file',
              netrc,
              '--ftp-create-dirs',
              '-T',
              src.file,
              `ftp://127.0.0.1:${port}/${dest}/${basename(src.file)}`,
            ],
          };
        },
      };
    case 'lftp':
      return {
        ...base,
        async cmd(src, dest) {
          const script = ctx.scratchFile('lftp-script');
          const lines = ['set net:max-retries 1', 'set cmd:fail-exit yes'];
          if (proto === 'sftp') {
            ensureKey();
            lines.push(`set sftp:connect-program "ssh -a -x -i ${key} ${sshOpts.join(' ')}"`);
          }
          lines.push(`open -u ${user},${password} ${proto}://127.0.0.1:${port}`);
          lines.push(`mirror -R ${opts.parallel ? `--parallel=${opts.parallel} ` : ''}${src.dir} ${dest}`);
          await writeFile(script, `${lines.join('\n')}\n`, { mode: 0o600 });
          return { cmd: bin ?? 'lftp', args: ['-f', script] };
        },
      };
    case 'rclone': {
      const remote = proto === 'sftp' ? 'BENCHSFTP' : 'BENCHFTP';
      let env: NodeJS.ProcessEnv | undefined;
      return {
        ...base,
        async cmd(src, dest) {
          env ??= {
            ...process.env,
            [`RCLONE_CONFIG_${remote}_TYPE`]: proto,
            [`RCLONE_CONFIG_${remote}_HOST`]: '127.0.0.1',
            [`RCLONE_CONFIG_${remote}_PORT`]: String(port),
            [`RCLONE_CONFIG_${remote}_USER`]: user,
            // `rclone obscure` reads the password from stdin with "-".
            [`RCLONE_CONFIG_${remote}_PASS`]: execFileSync(bin ?? 'rclone', ['obscure', '-'], {
              input: password,
              encoding: 'utf8',
            }).trim(),
            // mod_sftp runs no shell commands: don't let rclone probe for md5sum/sha1sum (on sshd
            // too, so every server measures the same work).
            ...(proto === 'sftp' ? { [`RCLONE_CONFIG_${remote}_SHELL_TYPE`]: 'none' } : {}),
          };
          return {
            cmd: bin ?? 'rclone',
            args: ['copy', '-q', '--config', '/dev/null', src.dir, `${remote.toLowerCase()}:${dest}`],
            env,
          };
        },
      };
    }
  }
}
