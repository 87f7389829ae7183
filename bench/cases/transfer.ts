// Cases 1, 2 and 5: uploads of a data set by otpbackup and by the peers, over SFTP or FTP. Every
// run's files are counted on the server (untimed) and removed before the next run.
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { type CaseDef, type Check, type PreparedCase, ratioCheck, type ToolStats } from '../context.js';
import { bigFile, type DataSet, manyFiles } from '../data.js';
import { checkAndRemove } from '../landed.js';
import { otpbackupPeer, type Peer, type PeerName, type Proto, peer } from '../peers.js';
import { bytesText, countText } from '../scale.js';
import { SERVER_PROTOS, SERVERS } from '../servers.js';

/** Data sets are made once per bench run and shared by both protocols' cases. */
const made = new Map<string, Promise<DataSet & { file?: string }>>();
function dataSet(key: string, make: () => Promise<DataSet & { file?: string }>) {
  let p = made.get(key);
  if (!p) {
    p = make();
    made.set(key, p);
  }
  return p;
}

function prepared(
  ctx: BenchContext,
  data: DataSet & { file?: string },
  peers: Peer[],
  checks: (s: Map<string, ToolStats>) => Check[],
): PreparedCase {
  const input = { files: data.files, bytes: data.bytes };
  return {
    input,
    checks,
    tools: peers.map((p) => {
      const dest = (run: number) => `${p.name.replace(/[^a-z0-9]+/gi, '-')}-r${run}`;
      return {
        name: p.name,
        totp: p.totp,
        ...(p.missing ? { missing: p.missing } : {}),
        cmd: (run) => p.cmd({ dir: data.dir, ...(data.file ? { file: data.file } : {}) }, dest(run)),
        after: (run) => checkAndRemove(p.name, join(ctx.server.home(p.user), dest(run)), input),
      };
    }),
  };
}

const big = (ctx: BenchContext) =>
  dataSet('big', async () => {
    const dir = join(ctx.work, 'big');
    const d = await bigFile(dir, 'big.bin', ctx.scale.bigBytes);
    return { ...d, file: join(dir, 'big.bin') };
  });
const small = (ctx: BenchContext) =>
  dataSet('small', () => manyFiles(join(ctx.work, 'small'), ctx.scale.smallFiles, ctx.scale.smallBytes));
const huge = (ctx: BenchContext) =>
  dataSet('huge', async () => {
    const dir = join(ctx.work, 'huge');
    const d = await bigFile(dir, 'huge.bin', ctx.scale.rssBytes);
    return { ...d, file: join(dir, 'huge.bin') };
  });

const peersOf = (ctx: BenchContext, proto: Proto, names: (PeerName | [PeerName, number])[]) => [
  otpbackupPeer(ctx, proto),
  // FTP: the same client on one control connection (the default opens 4 where a code may be reused).
  ...(proto === 'ftp' ? [otpbackupPeer(ctx, proto, { connections: 1 })] : []),
  ...names.map((n) => (Array.isArray(n) ? peer(ctx, n[0], proto, { parallel: n[1] }) : peer(ctx, n, proto))),
];

/** A case before it is given a server: `proto` says which servers run it. */
type BaseCase = Omit<CaseDef, 'server'> & { proto: Proto };

const baseCases: BaseCase[] = [
  {
    id: 'big-sftp',
    proto: 'sftp',
    group: 1,
    title: (s) => `1 file of ${bytesText(s.bigBytes)}, SFTP`,
    prepare: async (ctx) =>
      prepared(ctx, await big(ctx), peersOf(ctx, 'sftp', ['openssh-sftp', 'rclone', 'lftp']), (s) =>
        ratioCheck(s, 'openssh-sftp', 1.0),
      ),
  },
  {
    id: 'big-ftp',
    proto: 'ftp',
    group: 1,
    title: (s) => `1 file of ${bytesText(s.bigBytes)}, FTP`,
    prepare: async (ctx) =>
      prepared(ctx, await big(ctx), peersOf(ctx, 'ftp', ['curl', 'lftp', 'rclone']), (s) =>
        ratioCheck(s, 'curl', 1.05),
      ),
  },
  {
    id: 'small-sftp',
    proto: 'sftp',
    group: 2,
    title: (s) => `${countText(s.smallFiles)} files of ${bytesText(s.smallBytes)}, SFTP`,
    prepare: async (ctx) =>
      prepared(
        ctx,
        await small(ctx),
        peersOf(ctx, 'sftp', ['rclone', 'lftp', ['lftp', 8], 'openssh-sftp']),
        (s) => [...ratioCheck(s, 'rclone', 0.5), ...ratioCheck(s, 'lftp', 0.5)],
      ),
  },
  {
    id: 'small-ftp',
    proto: 'ftp',
    group: 2,
    title: (s) => `${countText(s.smallFiles)} files of ${bytesText(s.smallBytes)}, FTP`,
    prepare: async (ctx) =>
      prepared(
        ctx,
        await small(ctx), // rclone's FTP backend takes ~20 ms per small file here (a data connection and a listing each):
        // ten times the others, so it is left out to keep the full bench under half an hour.
        peersOf(ctx, 'ftp', ['lftp', ['lftp', 4]]),
        (s) => [
          ...ratioCheck(s, 'lftp', 1.0, 'otpbackup --connections 1'),
          ...ratioCheck(s, 'lftp --parallel=4', 1.0),
        ],
      ),
  },
  ...(['sftp', 'ftp'] as const).map(
    (proto): BaseCase => ({
      id: `rss-${proto}`,
      proto,
      group: 5,
      runs: 1,
      title: (s) => `peak RSS uploading ${bytesText(s.rssBytes)}, ${proto.toUpperCase()}`,
      prepare: async (ctx) =>
        prepared(ctx, await huge(ctx), [otpbackupPeer(ctx, proto)], (s) => {
          const kb = s.get('otpbackup')?.rssKb;
          if (kb === undefined) return [];
          const mb = (kb * 1024) / 1e6;
          return [
            { tool: 'otpbackup', target: 'peak RSS ≤ 120 MB', value: `${mb.toFixed(0)} MB`, met: mb <= 120 },
          ];
        }),
    }),
  ),
];

/** Every case on every server that speaks its protocol: "big-sftp/proftpd", "big-sftp/sshd", ... */
export const transferCases: CaseDef[] = baseCases.flatMap(({ proto, ...c }) =>
  SERVERS.filter((sv) => SERVER_PROTOS[sv].includes(proto)).map((server) => ({
    ...c,
    id: `${c.id}/${server}`,
    server,
  })),
);
