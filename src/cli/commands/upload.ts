// `otpbackup upload SRC... --to URL`: one-shot upload for CI. Secrets only from the environment,
// never prompts, silent on success (one summary line with -v), exit codes per DESIGN.md.

import type { Command } from 'commander';
import type { TargetOptions, UploadResult } from '../../backup/upload.js';
import type { Account, Config } from '../../config/types.js';
import { OtpBackupError, usageError } from '../../errors.js';
import type { ConnectOptions } from '../connect.js';
import { type CliContext, isInteractive } from '../context.js';
import { URL_PATH_HELP } from '../remote-help.js';
import {
  ACCOUNT_OWN_FLAGS,
  addOptions,
  addTargetOptions,
  onCommandLine,
  withCliTrust,
} from '../target-options.js';
import {
  accountLimiter,
  addTransferOptions,
  type TransferFlags,
  transferSettings,
} from '../transfer-options.js';

export interface UploadOptions extends Partial<TargetOptions>, TransferFlags {
  account?: string;
  remoteDir?: string;
  delete?: boolean;
  force?: boolean;
  exclude?: string[];
  include?: string[];
  excludeFrom?: string[];
  sync?: boolean;
  checksum?: boolean;
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
  config?: string;
  /** --allow-no-code: accept a --template without a code variable on purpose. */
  allowNoCode?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** How upload logs in: secrets from the environment or the config, never a prompt (issue #6). */
export function connectOptions(
  account: Account,
  opts: Pick<UploadOptions, 'account' | 'hotpCounterFile'>,
  config?: Config,
): ConnectOptions {
  return {
    prompt: 'never',
    command: 'upload',
    ...(config ? { config } : {}),
    logPrefix: 'upload',
    reuseFix: opts.account ? `otpbackup account edit ${account.name} --otp-reuse allow` : '--otp-reuse allow',
    ...(opts.hotpCounterFile ? { hotpCounterFile: opts.hotpCounterFile } : {}),
  };
}

export async function uploadCommand(
  sources: string[],
  opts: UploadOptions,
  ctx: CliContext,
): Promise<UploadResult> {
  const mod = await import('../../backup/upload.js');

  let account: Account;
  let config: Config | undefined;
  if (opts.to && opts.account) throw usageError('use either --to URL or --account NAME');
  // A mistyped pin is a usage error before anything connects (#14.9).
  (await import('../../transport/sftp/hostkeys.js')).checkHostKeyFlag('--host-key', opts.hostKey);
  if (opts.to) {
    if (opts.remoteDir)
      throw usageError('--remote-dir goes with --account; put the directory in the --to URL');
    account = mod.accountFromTarget(opts as TargetOptions, ctx.env);
  } else if (opts.account) {
    const { loadConfig } = await import('../../config/load.js');
    config = await loadConfig(ctx.env, opts.config);
    account = { ...mod.configAccount(config, opts.account) };
    if (opts.template) account.template = opts.template;
    if (opts.otpReuse === 'allow') account.otp = { ...account.otp, reuse: 'allow' };
    account = mod.withConnectionsFlag(account, opts.connections);
    account.trust = withCliTrust(account.trust, opts);
    if (opts.prompt?.length)
      account.prompts = [...opts.prompt.map(mod.parsePromptRule), ...(account.prompts ?? [])];
    if (opts.key) {
      account.privateKey = opts.key;
      account.authMethods = ['publickey', 'keyboard-interactive'];
    }
    for (const f of ACCOUNT_OWN_FLAGS) {
      // OTPBACKUP_DIGITS and the like are for --to URLs; only a flag typed here is refused.
      if (onCommandLine(opts, f))
        throw usageError(
          `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --to; account "${account.name}" has its own`,
        );
    }
  } else {
    throw usageError('say where to upload: --to URL or --account NAME', 'e.g. --to sftp://ci@host:22/site');
  }
  if (opts.template !== undefined) {
    const { checkTemplateHasCode } = await import('../../otp/template-check.js');
    checkTemplateHasCode(opts.template, account.protocol, opts.allowNoCode);
  }
  if (opts.hotpCounterFile && account.otp.type !== 'hotp')
    throw usageError(`--hotp-counter-file: account "${account.name}" does not use HOTP`);
  const transfer = transferSettings(opts);
  account = transfer.apply(account);
  const limiter = accountLimiter(transfer, account);

  const [{ TextReporter }, { jsonReporter }] = await Promise.all([
    import('../../ui/text.js'),
    import('../../ui/json.js'),
  ]);
  const text = opts.json
    ? undefined
    : new TextReporter({
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        // The ladder of every command: -v the one summary line below (the per-job plan line would
        // repeat it), -vv each file.
        verbose: ctx.debug || ctx.verbose > 1 ? 2 : 0,
        progress: opts.progress !== false && isInteractive(ctx),
      });
  const { ignoreFilePatterns, readPatternFiles } = await import('../../scan/ignore-files.js');
  const exclude = [
    ...(opts.exclude ?? []),
    ...(await readPatternFiles(opts.excludeFrom ?? [], ctx.cwd)),
    ...(await ignoreFilePatterns(sources, ctx.cwd)),
  ];
  if (opts.checksum && !opts.sync) throw usageError('--checksum goes with --sync');
  let result: UploadResult;
  try {
    result = await mod.upload(
      account,
      {
        sources,
        exclude,
        ...(opts.include?.length ? { include: opts.include } : {}),
        sync: Boolean(opts.sync),
        checksum: Boolean(opts.checksum),
        ...(opts.remoteDir ? { remoteDir: opts.remoteDir } : {}),
        delete: Boolean(opts.delete),
        force: Boolean(opts.force),
        dryRun: Boolean(opts.dryRun),
      },
      {
        clock: ctx.clock,
        cwd: ctx.cwd,
        reporter: text ?? jsonReporter,
        connect: (a) => ctx.connect(a, connectOptions(a, opts, config)),
        ...(limiter ? { limiter } : {}),
      },
    );
  } finally {
    text?.done();
  }

  let failure: OtpBackupError | undefined;
  if (result.error) {
    failure = new OtpBackupError(result.error.code as OtpBackupError['code'], result.error.message, {
      hint: result.error.hint,
    });
  } else if (result.failed.length) {
    failure = new OtpBackupError('partial', `${result.failed.length} file(s) failed`, {
      hint: 'see the lines above (or "failed" in --json); run again to retry',
    });
  }
  if (opts.json) {
    const { plan, dryRun, error: _e, ...rest } = result;
    const { printJson } = await import('../report.js');
    printJson(
      ctx,
      { ...rest, exitCode: failure?.exitCode ?? 0, ...(dryRun ? { dryRun, plan } : {}) },
      { error: failure },
    );
  } else if (opts.dryRun) {
    const p = result.plan ?? { upload: [], delete: [] };
    ctx.stdout.write(`would upload ${p.upload.length}, delete ${p.delete.length}\n`);
    for (const f of p.upload) ctx.stdout.write(`  + ${f}\n`);
    for (const f of p.delete) ctx.stdout.write(`  - ${f}\n`);
  } else if (ctx.verbose > 0 || ctx.debug) {
    ctx.stdout.write(
      `uploaded ${result.files} file(s) (${result.bytes} bytes)${opts.sync ? `, ${result.unchanged} unchanged` : ''}, deleted ${result.deleted}, ${result.failed.length} failed, ${result.durationMs} ms\n`,
    );
  }

  if (failure) throw failure;
  return result;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('upload')
    .description('upload files once, e.g. from a CI pipeline (secrets from the environment; never prompts)')
    .addHelpText(
      'after',
      `
Examples:
  # SFTPGo-style FTP: PASS is the password immediately followed by the code
  OTPBACKUP_PASSWORD=… OTPBACKUP_TOTP_SECRET=… otpbackup upload dist/ --to ftpes://deploy@files.example.org/site
  # SFTP keyboard-interactive, host key pinned, mirror with deletes
  otpbackup upload public/ --to sftp://deploy@host:22/var/www --host-key SHA256:… --delete
  # ProFTPD mod_auth_otp: the code alone
  otpbackup upload build.tar.gz --to ftp://ci@host/drop --template '\${TOTP}' --json
  # An account from the config
  otpbackup upload report.pdf --account nas --remote-dir reports
  # The login directory itself (no path), and a directory below an SFTP home
  otpbackup upload site/ --to ftp://ci@host/
  otpbackup upload site/ --to sftp://ci@host/~/site --host-key SHA256:…
${URL_PATH_HELP}`,
    )
    .argument('<src...>', 'files or directories to upload')
    .option(
      '--to <url>',
      'target: ftp://, ftpes://, ftps:// or sftp://user@host[:port][/dir] (paths: see below)',
    )
    .option('--account <name>', 'use this account from the config instead of --to')
    .option(
      '--remote-dir <dir>',
      "with --account: remote directory (relative: below the account's; ~/…: below the login directory; /…: absolute)",
    )
    .option('--delete', 'mirror: delete remote files missing locally (capped at half; --force to pass)')
    .option('--force', 'allow deleting more than half of the remote files')
    .option('--exclude <glob>', 'skip matching files (gitignore syntax; repeatable)', collect)
    .option(
      '--exclude-from <file>',
      'skip files matching the patterns in this file, one per line (repeatable)',
      collect,
    )
    .option('--include <glob>', 'send only matching files (gitignore syntax; repeatable)', collect)
    .option(
      '--sync',
      'send only files that are new or differ from the server copy (size and mtime: otpbackup sets mtimes on upload)',
    )
    .option('--checksum', "with --sync: compare by the server's SHA-256 (FTP HASH) where it offers one")
    .option('--dry-run', 'print what would be uploaded (and deleted); change nothing')
    .option('--json', 'print one JSON object: files, bytes, deleted, failed, durationMs');
  addOptions(cmd, ['noProgress']);
  addTransferOptions(addTargetOptions(cmd)).action(async (sources: string[], opts: UploadOptions) => {
    await uploadCommand(sources, opts, ctx);
  });
}
