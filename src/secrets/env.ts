// env:VAR — the secret is in an environment variable (CI, containers, systemd credentials).
import { OtpBackupError } from '../errors.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './types.js';

export class EnvStore implements SecretStore {
  readonly scheme = 'env';
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async get(key: string): Promise<string | undefined> {
    const v = this.env[key];
    return v === undefined || v === '' ? undefined : v;
  }
}

/**
 * The value of the variable a `--…-env NAME` flag names. The argument is never echoed: a seed or
 * password pasted where the name belongs would otherwise land in the terminal, CI logs and cron mail.
 * `ours` are otpbackup's own default names (OTPBACKUP_PASSWORD, …), which are safe to print.
 */
export function envFlagValue(
  env: NodeJS.ProcessEnv,
  flag: string,
  name: string,
  ours: readonly string[] = [],
): string {
  const v = env[name];
  if (v !== undefined && v !== '') {
    registerSecret(v); // masked in output, kept from children's environments
    return v;
  }
  if (ours.includes(name))
    throw new OtpBackupError('secret', `${flag}: environment variable ${name} is not set or empty`, {
      hint: `export ${name}=… (e.g. from a CI secret) first`,
    });
  throw new OtpBackupError(
    'secret',
    `${flag}: no environment variable of that name is set (or it is empty); the argument is not printed`,
    { hint: `${flag} takes the NAME of a variable, not the value: export MY_VAR=… then ${flag} MY_VAR` },
  );
}
