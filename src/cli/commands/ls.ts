// `otpbackup ls JOB|ACCOUNT|URL [PATH]`: the files a backup holds on the server (size, mtime, path),
// with --versions the old copies `mode: versions` keeps. One login; one listing per directory.
import type { Command } from 'commander';
import type { RemoteFile, RemoteVersion } from '../../restore/remote-tree.js';
import { showRaw } from '../../scan/raw-name.js';
import type { CliContext } from '../context.js';
import {
  addUrlTargetOptions,
  connectReadTarget,
  type ReadTargetOptions,
  resolveReadTarget,
} from '../read-target.js';

interface LsOptions extends ReadTargetOptions {
  versions?: boolean;
  json?: boolean;
}

function line(f: RemoteFile, extra = ''): string {
  const when = f.mtime
    ? f.mtime
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z')
    : '-'.padEnd(20);
  // A name that is not UTF-8 shows its bytes as \xNN (the JSON form keeps the exact escapes).
  return `${String(f.size).padStart(12)}  ${when}  ${showRaw(f.rel)}${extra}\n`;
}

export async function lsCommand(spec: string, path: string | undefined, opts: LsOptions, ctx: CliContext) {
  const target = await resolveReadTarget(spec, opts, ctx, { url: true, account: true });
  const [{ readRemoteTree, selectPaths }, { OtpBackupError }] = await Promise.all([
    import('../../restore/remote-tree.js'),
    import('../../errors.js'),
  ]);
  const t = await connectReadTarget(target, opts, ctx);
  try {
    const tree = await readRemoteTree(t, target.root, { versions: Boolean(opts.versions) });
    const sel = selectPaths(tree.files, path ? [path] : []);
    const vers = selectPaths(tree.versions, path ? [path] : []).files as RemoteVersion[];
    if (path && !sel.files.length && !vers.length)
      throw new OtpBackupError('remote', `${path}: nothing of that name in ${target.label}`, {
        hint: `list everything with \`otpbackup ls ${spec}\``,
      });
    if (opts.json) {
      const { printJson } = await import('../report.js');
      printJson(ctx, {
        root: target.root,
        files: sel.files.map((f) => ({ path: f.rel, size: f.size, mtime: f.mtime?.toISOString() ?? null })),
        ...(opts.versions
          ? {
              versions: vers.map((v) => ({
                path: v.rel,
                size: v.size,
                mtime: v.mtime?.toISOString() ?? null,
                replacedAt: new Date(v.replacedAt).toISOString(),
              })),
            }
          : {}),
        skipped: tree.skipped,
      });
      return;
    }
    for (const f of sel.files) ctx.stdout.write(line(f));
    for (const v of vers)
      ctx.stdout.write(
        line(v, `  (version, replaced ${new Date(v.replacedAt).toISOString().replace(/\.\d{3}Z$/, 'Z')})`),
      );
    for (const s of tree.skipped) ctx.stderr.write(`otpbackup: skipped ${s.rel}: ${s.reason}\n`);
    if (ctx.verbose > 0) {
      const bytes = sel.files.reduce((n, f) => n + f.size, 0);
      ctx.stderr.write(
        `${sel.files.length} file(s), ${bytes} bytes${opts.versions ? `, ${vers.length} version(s)` : ''}\n`,
      );
    }
  } finally {
    await t.close().catch(() => {});
  }
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('ls')
    .description('list the files a backup holds on the server (size, modification time, path)')
    .argument(
      '<target>',
      'a job or account of the config, or a URL (secrets from the environment, as upload)',
    )
    .argument('[path]', 'only this file or directory (relative to the target)')
    .option('--versions', 'also list the old copies kept by mode: versions, with the time each was replaced')
    .option('--json', 'print one JSON document: files (path, size, mtime), versions')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup ls documents                        # a job: its remote directory
  otpbackup ls documents reports --versions     # one folder, with its old copies
  OTPBACKUP_PASSWORD=… OTPBACKUP_TOTP_SECRET=… otpbackup ls sftp://ci@host:22/srv/site --json`,
    );
  addUrlTargetOptions(cmd).action(async (spec: string, path: string | undefined, opts: LsOptions) => {
    await lsCommand(spec, path, opts, ctx);
  });
}
