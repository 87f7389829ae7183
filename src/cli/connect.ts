// The one wiring from a CLI context to a login: secrets from the config's stores, the -vv/--debug
// ladder, the wait notice, and who answers an `otp.type: prompt` code. `run`, `watch`, `upload`,
// the read commands and `account test/add/edit` all log in through here (ctx.connect, or
// openOptions for the probe, which connects itself to time the login).
import type { Account, Config } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import type { Credentials, LoginWait } from '../transport/login.js';
import type { OpenOptions } from '../transport/open.js';
import type { PromptLogEntry } from '../transport/sftp/prompts.js';
import type { Transport } from '../transport/types.js';
import type { CliContext } from './context.js';

export interface ConnectOptions {
  /**
   * 'terminal': an `otp.type: prompt` code is asked on the terminal (none: a clear error at login);
   * 'never': refused naming `command` (upload is for pipelines and never prompts, issue #6).
   */
  prompt: 'terminal' | 'never';
  /** The command named when prompting is refused. */
  command?: string;
  /** Where the account's references live (vault settings); none for a URL target. */
  config?: Pick<Config, 'vault'>;
  /** Instead of the stores: add/edit test with secrets not stored yet. */
  getSecret?: (ref: string) => Promise<string>;
  signal?: AbortSignal;
  /** What the wait notice names to skip step waits; default `account edit NAME --otp-reuse allow`. */
  reuseFix?: string;
  /** Prefix of the -vv lines; default the account name. */
  logPrefix?: string;
  /** upload --hotp-counter-file: the HOTP counter lives in this file. */
  hotpCounterFile?: string;
  /** Also told before each login wait. */
  onWait?: (w: LoginWait) => void;
  /** Sees each credential handed to a login attempt. */
  onCredentials?: (c: Credentials) => void;
  /** Filled with the keyboard-interactive prompts as they come (also when the login fails). */
  promptLog?: PromptLogEntry[];
}

/** The transport options for `account` under `ctx` (what accountTransport and the probe take). */
export async function openOptions(
  ctx: CliContext,
  account: Account,
  o: ConnectOptions,
): Promise<OpenOptions> {
  const [{ waitNotice }, { transportLogging }] = await Promise.all([
    import('./wait-notice.js'),
    import('./verbosity.js'),
  ]);
  const notice = waitNotice(ctx, o.reuseFix ?? `otpbackup account edit ${account.name} --otp-reuse allow`);
  const onWait =
    notice && o.onWait
      ? (w: LoginWait) => {
          notice(w);
          o.onWait!(w);
        }
      : (notice ?? o.onWait);
  const secrets = ctx.secrets(o.config);
  const promptCode =
    o.prompt === 'never'
      ? async () => {
          throw new OtpBackupError(
            'usage',
            `account "${account.name}" has otp.type: prompt, and ${o.command ?? 'this command'} never prompts`,
            {
              hint: 'use "otpbackup run" on a terminal, or give the account otp.type totp, hotp or command',
            },
          );
        }
      : ctx.prompts.code();
  const file = o.hotpCounterFile;
  const counterFile = file ? (await import('../backup/upload.js')).counterFileSource : undefined;
  return {
    env: ctx.env,
    clock: ctx.clock,
    getSecret: o.getSecret ?? ((ref) => secrets.resolve(ref)),
    ...transportLogging(ctx, o.logPrefix ?? account.name),
    ...(onWait ? { onWait } : {}),
    ...(promptCode ? { promptCode } : {}),
    ...(o.onCredentials ? { onCredentials: o.onCredentials } : {}),
    ...(file && counterFile
      ? {
          source: (make) =>
            counterFile((counter) => make({ ...account, otp: { ...account.otp, counter } }), file),
        }
      : {}),
  };
}

/** Builds the account's transport and logs in; `loginStep` is the TOTP step / HOTP counter spent. */
export async function connect(
  ctx: CliContext,
  account: Account,
  o: ConnectOptions,
): Promise<Transport & { loginStep?: number }> {
  const { accountTransport } = await import('../transport/open.js');
  let loginStep: number | undefined;
  const opts = await openOptions(ctx, account, {
    ...o,
    // Remember which TOTP step / HOTP counter the login spent, for the result (never the code).
    onCredentials: (c) => {
      loginStep = c.step ?? c.counter;
      o.onCredentials?.(c);
    },
  });
  const transport = await accountTransport(account, opts);
  const live = (transport as { promptLog?: PromptLogEntry[] }).promptLog;
  try {
    await transport.connect(o.signal);
  } finally {
    if (live && o.promptLog) o.promptLog.push(...live);
  }
  return Object.assign(transport, { loginStep });
}
