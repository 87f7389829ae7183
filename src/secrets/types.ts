// The SecretStore seam. Each reference scheme (keychain, vault, env, file, cmd) has one store;
// every store passes test/secrets/suite.ts.

export interface SecretStore {
  /** The scheme this store answers, e.g. "env" for "env:VAR". */
  readonly scheme: string;
  /** The secret for the part after "scheme:", or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  set?(key: string, value: string): Promise<void>;
  delete?(key: string): Promise<void>;
}
