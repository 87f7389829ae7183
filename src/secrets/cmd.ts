// cmd:COMMAND ARGS — the secret is the first line a program prints (pass, gopass, op, bw, ...).
// Run WITHOUT a shell; its output and stderr are never shown, since either may hold the secret.
import { spawn } from 'node:child_process';
import { splitWords } from '../config/schema.js';
import { OtpBackupError } from '../errors.js';
import { childEnv } from './redact.js';
import type { SecretStore } from './types.js';

export const COMMAND_TIMEOUT_MS = 10_000;

/** Runs argv and returns the first line of stdout ('' when none). Errors name the program only. */
export function runSecretCommand(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; what?: string } = {},
): Promise<string> {
  const [prog, ...args] = argv;
  const what = opts.what ?? 'secret command';
  if (!prog) return Promise.reject(new OtpBackupError('config', `${what} is empty`));
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    // stdin is ignored so a program waiting for input fails fast instead of hanging until the timeout.
    const child = spawn(prog, args, {
      env: childEnv(opts.env ?? process.env),
      stdio: ['ignore', 'pipe', 'ignore'],
      shell: false,
    });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new OtpBackupError(
          'secret',
          e.code === 'ENOENT' ? `${what} not found: ${prog}` : `${what} ${prog} could not start: ${e.code}`,
          { hint: 'check the command name and PATH' },
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        return reject(
          new OtpBackupError('secret', `${what} ${prog} did not finish within ${timeoutMs / 1000} s`, {
            hint: 'make sure it does not wait for input (it runs without a terminal)',
          }),
        );
      }
      if (code !== 0) {
        return reject(
          new OtpBackupError(
            'secret',
            `${what} ${prog} failed (${signal ? `signal ${signal}` : `exit code ${code}`})`,
            {
              hint: `run it yourself to see why: ${prog} ...`,
            },
          ),
        );
      }
      const out = Buffer.concat(chunks).toString('utf8');
      resolve((out.split(/\r?\n/, 1)[0] ?? '').trimEnd());
    });
  });
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
