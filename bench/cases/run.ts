// Cases 3 and 4: `otpbackup run` from a config (secrets as env: references), once with nothing
// changed in a big tree (against `find`, the bare cost of stat-ing it) and once with nothing due
// (against `node -e 0`). The initial backup that makes the tree "unchanged" is setup, untimed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BenchContext, type CaseDef, ratioCheck } from '../context.js';
import { manyFiles } from '../data.js';
import { countTree } from '../landed.js';
import { timed } from '../measure.js';
import { countText } from '../scale.js';

const SEED_VAR = 'BENCH_TOTP_SECRET';

/** A config dir with one SFTP account (TOTP, code reuse allowed: ProFTPD accepts it) and one job. */
async function configFor(ctx: BenchContext, name: string, source: string) {
  const s = ctx.server;
  const xdg = join(ctx.work, `${name}-config`);
  await mkdir(join(xdg, 'otpbackup'), { recursive: true });
  const yaml = `version: 1
accounts:
  bench:
    protocol: sftp
    host: 127.0.0.1
    port: ${s.otp.ports.sftp}
    user: ${s.otp.user}
    otp:
      secret: env:${SEED_VAR}
      reuse: allow
    trust:
      hostKeys: ["${s.sshHostKeyFingerprint}"]
jobs:
  ${name}:
    account: bench
    sources: ["${source}"]
    remoteDir: ${name}
    schedule: "@daily"
`;
  await writeFile(join(xdg, 'otpbackup', 'config.yaml'), yaml, { mode: 0o600 });
  const env = { XDG_CONFIG_HOME: xdg, [SEED_VAR]: s.otp.secret };
  return { env, remote: join(s.home(s.otp.user), name) };
}

export const runCases: CaseDef[] = [
  {
    id: 'noop-run',
    // Local work (scan, no login when nothing changed): one server is enough.
    server: 'proftpd',
    group: 3,
    title: (s) => `no-op run over ${countText(s.treeFiles)} unchanged files`,
    async prepare(ctx) {
      const src = join(ctx.work, 'tree');
      const data = await manyFiles(src, ctx.scale.treeFiles, 256, 100);
      const { env, remote } = await configFor(ctx, 'tree', src);
      const first = ctx.otpbackup(['run', '--job', 'tree'], env);
      await timed(first, ctx.scratch);
      const got = await countTree(remote);
      if (got.files !== data.files) throw new Error(`setup run sent ${got.files} of ${data.files} files`);
      return {
        input: { files: data.files, bytes: data.bytes },
        tools: [
          { name: 'otpbackup', totp: true, cmd: () => ctx.otpbackup(['run', '--job', 'tree'], env) },
          { name: 'find', cmd: () => ({ cmd: 'find', args: [src, '-printf', '%s %T@\\n'] }) },
        ],
        checks: (s) => {
          const out = ratioCheck(s, 'find', 2.0);
          const kb = s.get('otpbackup')?.rssKb;
          if (kb !== undefined) {
            const mb = (kb * 1024) / 1e6;
            out.push({
              tool: 'otpbackup',
              target: 'peak RSS ≤ 200 MB',
              value: `${mb.toFixed(0)} MB`,
              met: mb <= 200,
            });
          }
          return out;
        },
      };
    },
  },
  {
    id: 'nothing-due',
    server: 'proftpd',
    group: 4,
    title: () => '`otpbackup run` with no job due',
    async prepare(ctx) {
      const src = join(ctx.work, 'one');
      await manyFiles(src, 1, 64);
      const { env } = await configFor(ctx, 'one', src);
      await timed(ctx.otpbackup(['run', '--job', 'one'], env), ctx.scratch);
      return {
        input: { files: 0, bytes: 0 },
        tools: [
          { name: 'otpbackup', cmd: () => ctx.otpbackup(['run'], env) },
          { name: 'node -e 0', cmd: () => ({ cmd: process.execPath, args: ['-e', '0'] }) },
        ],
        checks: (s) => {
          const ours = s.get('otpbackup');
          const node = s.get('node -e 0');
          if (!ours || !node) return [];
          const extra = ours.medianMs - node.medianMs;
          return [
            {
              tool: 'node -e 0',
              target: '≤ +60 ms',
              value: `${extra < 0 ? '−' : '+'}${Math.abs(extra).toFixed(0)} ms`,
              met: extra <= 60,
            },
          ];
        },
      };
    },
  },
];
