// cmd:COMMAND ARGS — the secret is the first line a program prints (pass, gopass, op, bw, ...).
// Run WITHOUT a shell, bounded in time and output (secrets/first-line.ts); its output and stderr are
// never shown, since either may hold the secret.
import { splitWords } from '../argv.js';
import { OtpBackupError } from '../errors.js';
import { runFirstLine } from './first-line.js';
import { childEnv } from './redact.js';
import type { SecretStore } from './types.js';

export const COMMAND_TIMEOUT_MS = 10_000;

/** Runs argv and returns the first line of stdout ('' when none). Errors name the program only. */
export async function runSecretCommand(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; what?: string } = {},
): Promise<string> {
  const line = await runFirstLine(argv, {
    env: childEnv(opts.env ?? process.env),
    timeoutMs: opts.timeoutMs ?? COMMAND_TIMEOUT_MS,
    what: opts.what ?? 'secret command',
  });
  return line.trimEnd();
}

export class CmdStore implements SecretStore {
  readonly scheme = 'cmd';
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async get(key: string): Promise<string | undefined> {
    let argv: string[];
    try {
      argv = splitWords(key);
    } catch (e) {
      throw new OtpBackupError('config', `cmd: reference has an ${(e as Error).message}`);
    }
    const out = await runSecretCommand(argv, { env: this.env });
    return out === '' ? undefined : out;
  }
}
