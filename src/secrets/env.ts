// env:VAR — the secret is in an environment variable (CI, containers, systemd credentials).
import type { SecretStore } from './types.js';

export class EnvStore implements SecretStore {
  readonly scheme = 'env';
  constructor(private readonly env: NodeJS.ProcessEnv) {}

  async get(key: string): Promise<string | undefined> {
    const v = this.env[key];
    return v === undefined || v === '' ? undefined : v;
  }
}
