// Issue #15's download cases: the same data sets fetched back from each server by otpbackup
// (`download`, one login) and by curl, OpenSSH sftp `get`, `lftp mirror` and `rclone copy` logging
// in to the password-only twin. The data is staged in both users' homes once (untimed); every run's
// local copy is counted (untimed) and removed before the next run.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext, CaseDef, Check, PreparedCase, ToolRun, ToolStats } from '../context.js';
import { ratioCheck } from '../context.js';
import { bigFile, type DataSet, manyFiles } from '../data.js';
import { checkAndRemove } from '../landed.js';
import type { Cmd } from '../measure.js';
import { bytesText, countText } from '../scale.js';
import { type Proto, SERVER_PROTOS, SERVERS } from '../servers.js';

type Tool =
  | 'otpbackup'
  | 'otpbackup --connections 1'
  | 'curl'
  | 'openssh-sftp'
  | 'lftp'
  | 'lftp --parallel=4'
  | 'rclone';

const SSH_OPTS = [
  '-o',
  'BatchMode=yes',
  '-o',
  'StrictHostKeyChecking=no',
  '-o',
  'UserKnownHostsFile=/dev/null',
  '-o',
  'LogLevel=ERROR',
];

/** Copies the data set into `dir` below both users' homes, so each tool reads the same bytes. */
async function stage(ctx: BenchContext, data: DataSet, dir: string): Promise<void> {
  for (const user of [ctx.server.otp.user, ctx.server.plain.user]) {
    const to = join(ctx.server.home(user), dir);
    if (!existsSync(to)) await cp(data.dir, to, { recursive: true });
  }
}

function command(
  ctx: BenchContext,
  tool: Tool,
  proto: Proto,
  remote: string,
  single: string | undefined,
  dest: string,
): Cmd | Promise<Cmd> {
  const s = ctx.server;
  if (tool === 'otpbackup' || tool === 'otpbackup --connections 1') {
    const u = s.otp;
    const path = s.urlPath(u.user, single ? `${remote}/${single}` : remote);
    return ctx.otpbackup(
      [
        'download',
        `${proto}://${u.user}@127.0.0.1:${u.ports[proto]}${path}`,
        '--to',
        dest,
        ...(proto === 'sftp' ? ['--host-key', s.sshHostKeyFingerprint ?? ''] : []),
        '--otp-reuse',
        'allow',
        ...(tool === 'otpbackup' ? [] : ['--connections', '1']),
      ],
      { OTPBACKUP_TOTP_SECRET: u.secret, ...(u.sendsPassword ? { OTPBACKUP_PASSWORD: u.password } : {}) },
    );
  }
  const { user, password } = s.plain;
  const port = String(s.plain.ports[proto] ?? 0);
  const key = ctx.scratchFile('client_key');
  const ensureKey = () => {
    if (!s.clientKeyPath) throw new Error(`${s.label} has no client key`);
    if (!existsSync(key)) copyFileSync(s.clientKeyPath, key);
  };
  switch (tool) {
    case 'curl':
      return (async () => {
        const netrc = ctx.scratchFile('netrc');
        await writeFile(netrc, `machine 127.0.0.1 login ${user} password ${password}\n`, { mode: 0o600 });
        return {
          cmd: 'curl',
          args: [
            '-sS',
            '--netrc-file',
            netrc,
            '--create-dirs',
            '-o',
            join(dest, single ?? 'x'),
            `ftp://127.0.0.1:${port}/${remote}/${single}`,
          ],
        };
      })();
    case 'openssh-sftp':
      return (async () => {
        ensureKey();
        const batch = ctx.scratchFile('sftp-batch');
        await mkdir(dest, { recursive: true });
        await writeFile(
          batch,
          single ? `get ${remote}/${single} ${dest}/\n` : `get -r ${remote} ${dest}/\n`,
          { mode: 0o600 },
        );
        return {
          cmd: 'sftp',
          args: ['-q', '-b', batch, '-i', key, '-P', port, ...SSH_OPTS, `${user}@127.0.0.1`],
        };
      })();
    case 'lftp':
    case 'lftp --parallel=4':
      return (async () => {
        const script = ctx.scratchFile('lftp-script');
        const lines = ['set net:max-retries 1', 'set cmd:fail-exit yes'];
        if (proto === 'sftp') {
          ensureKey();
          lines.push(`set sftp:connect-program "ssh -a -x -i ${key} ${SSH_OPTS.join(' ')}"`);
        }
        lines.push(`open -u ${user},${password} ${proto}://127.0.0.1:${port}`);
        lines.push(
          single
            ? `get ${remote}/${single} -o ${dest}/${single}`
            : `mirror${tool === 'lftp' ? '' : ' --parallel=4'} ${remote} ${dest}/${remote}`,
        );
        await mkdir(dest, { recursive: true });
        await writeFile(script, `${lines.join('\n')}\n`, { mode: 0o600 });
        return { cmd: 'lftp', args: ['-f', script] };
      })();
    case 'rclone': {
      const r = proto === 'sftp' ? 'BENCHSFTP' : 'BENCHFTP';
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        [`RCLONE_CONFIG_${r}_TYPE`]: proto,
        [`RCLONE_CONFIG_${r}_HOST`]: '127.0.0.1',
        [`RCLONE_CONFIG_${r}_PORT`]: port,
        [`RCLONE_CONFIG_${r}_USER`]: user,
        [`RCLONE_CONFIG_${r}_PASS`]: execFileSync('rclone', ['obscure', '-'], {
          input: password,
          encoding: 'utf8',
        }).trim(),
        ...(proto === 'sftp' ? { [`RCLONE_CONFIG_${r}_SHELL_TYPE`]: 'none' } : {}),
      };
      const src = single ? `${r.toLowerCase()}:${remote}/${single}` : `${r.toLowerCase()}:${remote}`;
      return {
        cmd: 'rclone',
        args: ['copy', '-q', '--config', '/dev/null', src, single ? dest : join(dest, remote)],
        env,
      };
    }
  }
}

function prepared(
  ctx: BenchContext,
  proto: Proto,
  data: DataSet,
  remote: string,
  single: string | undefined,
  tools: Tool[],
  checks: (s: Map<string, ToolStats>) => Check[],
): PreparedCase {
  const input = { files: data.files, bytes: data.bytes };
  return {
    input,
    checks,
    tools: tools.map((tool): ToolRun => {
      const dest = (run: number) => join(ctx.work, `dl-${tool.replace(/[^a-z0-9]+/gi, '-')}-r${run}`);
      return {
        name: tool,
        ...(tool.startsWith('otpbackup') ? { totp: true } : {}),
        cmd: async (run) => {
          await stage(ctx, data, remote);
          return command(ctx, tool, proto, remote, single, dest(run));
        },
        after: (run) => checkAndRemove(tool, dest(run), input),
      };
    }),
  };
}

const sets = new Map<string, Promise<DataSet>>();
const once = (key: string, make: () => Promise<DataSet>) => {
  let p = sets.get(key);
  if (!p) {
    p = make();
    sets.set(key, p);
  }
  return p;
};

type BaseCase = Omit<CaseDef, 'server'> & { proto: Proto };

const baseCases: BaseCase[] = [
  ...(['sftp', 'ftp'] as const).map(
    (proto): BaseCase => ({
      id: `get-big-${proto}`,
      proto,
      group: 6,
      title: (s) => `download 1 file of ${bytesText(s.bigBytes)}, ${proto.toUpperCase()}`,
      prepare: async (ctx) => {
        const data = await once('dl-big', () =>
          bigFile(join(ctx.work, 'dl-big'), 'big.bin', ctx.scale.bigBytes),
        );
        const peers: Tool[] =
          proto === 'sftp'
            ? ['otpbackup', 'openssh-sftp', 'rclone', 'lftp']
            : ['otpbackup', 'otpbackup --connections 1', 'curl', 'lftp', 'rclone'];
        return prepared(ctx, proto, data, 'dl-big', 'big.bin', peers, (s) => {
          const fastest = peers
            .filter((p) => !p.startsWith('otpbackup') && s.get(p))
            .sort((a, b) => (s.get(a)?.medianMs ?? 0) - (s.get(b)?.medianMs ?? 0))[0];
          return fastest ? ratioCheck(s, fastest, 1.05) : [];
        });
      },
    }),
  ),
  ...(['sftp', 'ftp'] as const).map(
    (proto): BaseCase => ({
      id: `get-small-${proto}`,
      proto,
      group: 6,
      title: (s) =>
        `download ${countText(s.smallFiles)} files of ${bytesText(s.smallBytes)}, ${proto.toUpperCase()}`,
      prepare: async (ctx) => {
        const data = await once('dl-small', () =>
          manyFiles(join(ctx.work, 'dl-small'), ctx.scale.smallFiles, ctx.scale.smallBytes),
        );
        const peers: Tool[] =
          proto === 'sftp'
            ? ['otpbackup', 'lftp', 'openssh-sftp', 'rclone']
            : ['otpbackup', 'otpbackup --connections 1', 'lftp', 'lftp --parallel=4'];
        return prepared(ctx, proto, data, 'dl-small', undefined, peers, (s) =>
          proto === 'sftp'
            ? ratioCheck(s, 'lftp', 1.0)
            : [
                ...ratioCheck(s, 'lftp', 1.0, 'otpbackup --connections 1'),
                ...ratioCheck(s, 'lftp --parallel=4', 1.0),
              ],
        );
      },
    }),
  ),
  // Issue #15: "restore RSS ≤ 120 MB". The file is the upload RSS case's size (4 GiB at full scale):
  // a download whose memory grew with the file would show here.
  ...(['sftp', 'ftp'] as const).map(
    (proto): BaseCase => ({
      id: `get-rss-${proto}`,
      proto,
      group: 7,
      runs: 1,
      title: (s) => `peak RSS downloading ${bytesText(s.rssBytes)}, ${proto.toUpperCase()}`,
      prepare: async (ctx) => {
        const data = await once('dl-rss', () =>
          bigFile(join(ctx.work, 'dl-rss'), 'huge.bin', ctx.scale.rssBytes),
        );
        return prepared(ctx, proto, data, 'dl-rss', 'huge.bin', ['otpbackup'], (s) => {
          const kb = s.get('otpbackup')?.rssKb;
          if (kb === undefined) return [];
          const mb = (kb * 1024) / 1e6;
          return [
            { tool: 'otpbackup', target: 'peak RSS ≤ 120 MB', value: `${mb.toFixed(0)} MB`, met: mb <= 120 },
          ];
        });
      },
    }),
  ),
];

/** Every download case on every server that speaks its protocol. */
export const downloadCases: CaseDef[] = baseCases.flatMap(({ proto, ...c }) =>
  SERVERS.filter((sv) => SERVER_PROTOS[sv].includes(proto)).map((server) => ({
    ...c,
    id: `${c.id}/${server}`,
    server,
  })),
);
