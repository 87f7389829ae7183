// What commands get instead of reaching for globals: streams, environment, clock, and the services
// they share (log in, the secret stores, the questions to a person). Tests construct their own (see
// withServices); main() builds the real one. Services load their modules on first use, so `run`'s
// nothing-due path pays for none of them.
import type { Account, Config } from '../config/types.js';
import type { Clock } from '../schedule/clock.js';
import { systemClock } from '../schedule/clock.js';
import { type SecretAccess, secretAccess } from '../secrets/access.js';
import type { Transport } from '../transport/types.js';
import type { ConnectOptions } from './connect.js';
import { type CliPrompts, terminalPrompts } from './prompts.js';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliContext {
  stdout: Output;
  stderr: Output;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  clock: Clock;
  cwd: string;
  /** Set by the global --debug flag. */
  debug: boolean;
  /** Set by the global -v/--verbose flag (count). */
  verbose: number;
  /** -q/--quiet: the real stderr, set aside while the command runs (stderr is then a sink). */
  quietStderr?: Output;
  /** A command that finishes without throwing but wants a non-zero exit sets this. */
  exitCode?: number;
  /** The command was given --json: a failure is also printed as one JSON document on stdout. */
  json?: boolean;
  /** The command already printed its JSON document (which then carries the error itself). */
  jsonWritten?: boolean;
  /** Builds the account's transport and logs in (cli/connect.ts); the caller closes it. */
  connect(account: Account, opts: ConnectOptions): Promise<Transport & { loginStep?: number }>;
  /**
   * The secret stores for `config` (its vault settings). With `askPassphrase` (account add/edit) a
   * locked vault's passphrase is asked via `prompts` on a terminal; else it comes from the config's
   * passphraseCommand or the environment, as for a cron run.
   */
  secrets(config?: Pick<Config, 'vault'>, opts?: { askPassphrase?: boolean }): SecretAccess;
  /** Questions to a person; each is undefined without a terminal. */
  prompts: CliPrompts;
}

export type CliServices = Pick<CliContext, 'connect' | 'secrets' | 'prompts'>;

/** A context as tests build it: the services default to the real ones (withServices). */
export type CliContextInit = Omit<CliContext, keyof CliServices> & Partial<CliServices>;

/**
 * A context built by hand (tests) completed with the real services. connect and secrets use the
 * context they are called on (so a `{ ...ctx, env }` copy logs in with its own env); the prompts
 * are bound to `base`'s streams: a copy with other streams passes its own.
 */
export function withServices(base: CliContextInit): CliContext {
  const ctx = base as CliContext;
  ctx.connect ??= async function (this: CliContext, account, opts) {
    return (await import('./connect.js')).connect(this, account, opts);
  };
  ctx.secrets ??= function (this: CliContext, config, opts) {
    // Only when asked for: looking at stdin sets up a stream a cron run never needs.
    const ask = opts?.askPassphrase ? this.prompts.passphrase() : undefined;
    return secretAccess({
      env: this.env,
      ...(config ? { config } : {}),
      ...(ask ? { askPassphrase: ask } : {}),
    });
  };
  ctx.prompts ??= terminalPrompts(ctx);
  return ctx;
}

export function defaultContext(): CliContext {
  return withServices({
    stdout: process.stdout,
    stderr: process.stderr,
    // A getter: touching process.stdin sets up a stream, which `run` from cron never needs.
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    clock: systemClock,
    cwd: process.cwd(),
    debug: false,
    verbose: 0,
  });
}

/** Whether fancy output (progress, colour) is allowed on this stream. */
export function isInteractive(ctx: CliContext, out: Output = ctx.stderr): boolean {
  return Boolean(out.isTTY) && !ctx.env.CI && ctx.env.TERM !== 'dumb';
}
