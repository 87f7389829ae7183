// Entry point: builds the commander program, runs it, and is the only place that catches errors.
import { Command, CommanderError, Option } from 'commander';
import { EXIT_CODES, ExitCode, OtpBackupError } from '../errors.js';
import { redact } from '../secrets/redact.js';
import { registerCommands } from './commands/index.js';
import { type CliContext, type CliContextInit, defaultContext, withServices } from './context.js';
import { printJsonFailure, reportFailure } from './report.js';
import { applyEnv, OPTIONS } from './target-options.js';
import { VERSION } from './version.js';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('otpbackup')
    .description('Back up files to FTP, FTPS and SFTP servers that require one-time passwords (TOTP/HOTP).')
    .version(VERSION, '-V, --version')
    .option(
      '--debug',
      'as -vv, plus the protocol (FTP commands and replies, SSH messages; secrets masked) and stack traces',
    )
    .option(
      '-v, --verbose',
      '-v: what was done (plan and summary per job); -vv: also each file and each login step',
      (_v: string, prev: number) => prev + 1,
      0,
    )
    .option('-q, --quiet', 'errors only: no warnings, notices or progress on stderr (stdout unchanged)')
    .addHelpText(
      'after',
      `
Verbosity, the same for every command: without flags only errors and warnings (stderr) and what the
command is for (stdout); -q only the error that ends a command; -v says what was done; -vv also each file and each login step (step waits,
auth methods, prompts, reconnects); --debug also the protocol, with passwords, seeds and codes masked.

Exit codes:
${EXIT_CODES.map(([c, what]) => `  ${String(c).padStart(3)}  ${what}`).join('\n')}

The full manual: otpbackup man | man -l -`,
    )
    // --config belongs to every command that reads the config: declared once, here, and shown
    // under "Global Options" in each command's --help.
    .addOption(new Option(OPTIONS.config.flags, OPTIONS.config.help))
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
      outputError: (s, write) => write(redact(s)),
    })
    .hook('preAction', (cmd, action) => {
      const o = cmd.optsWithGlobals();
      ctx.debug = Boolean(o.debug);
      ctx.verbose = Number(o.verbose ?? 0);
      ctx.json = Boolean(action.opts().json);
      if (o.quiet) {
        if (ctx.debug || ctx.verbose > 0)
          throw new OtpBackupError('usage', '-q/--quiet goes with neither -v nor --debug', {
            hint: 'pick one: -q for errors only, -v for more',
          });
        // Everything a command writes to stderr is dropped; main() puts the stream back for the
        // error that ends the command.
        ctx.quietStderr = ctx.stderr;
        ctx.stderr = { write: () => true, isTTY: false };
      }
      // Actions read opts.config; commander parses a global option into the program's own values
      // (wherever on the line it is), so hand it down.
      const config = cmd.opts().config as string | undefined;
      if (config !== undefined && action.opts().config === undefined) action.setOptionValue('config', config);
      applyEnv(action, ctx.env);
    });
  registerCommands(program, ctx);
  return program;
}

/** Runs the CLI and returns the exit code. Never throws. */
export async function main(argv: string[], init: CliContextInit = defaultContext()): Promise<number> {
  const ctx = withServices(init);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    // Not process.exitCode: that is global state another caller (a test runner) may have set.
    return ctx.exitCode ?? ExitCode.ok;
  } catch (e) {
    if (ctx.quietStderr) ctx.stderr = ctx.quietStderr;
    // A command line commander refused never reached preAction: --json is looked for by hand.
    const dashdash = argv.indexOf('--');
    ctx.json ||= (dashdash < 0 ? argv : argv.slice(0, dashdash)).includes('--json');
    return reportError(e, ctx, argv.includes('--debug'));
  }
}

export function reportError(e: unknown, ctx: CliContext, debug: boolean): number {
  if (e instanceof CommanderError) {
    // Help and version "errors" are successful exits; commander already printed them.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0) {
      return ExitCode.ok;
    }
    const message = e.message.replace(/^error: /, '').split('\n')[0] ?? '';
    printJsonFailure(ctx, new OtpBackupError('usage', message, { hint: 'see --help' }), ExitCode.usage);
    return ExitCode.usage;
  }
  return reportFailure(e, ctx, debug);
}
