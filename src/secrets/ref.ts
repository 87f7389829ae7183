// What a secret reference looks like (`scheme:key`): the one list of schemes, shared by the config
// schema (which refuses plain values), the resolver and the hooks (a notify URL may be a reference).
// No imports: the config loader and the fast `run` path load this without the stores.

export const SECRET_SCHEMES = ['env', 'keychain', 'vault', 'file', 'cmd'] as const;
export type SecretScheme = (typeof SECRET_SCHEMES)[number];

/** `keychain:SERVICE/KEY`, `vault:NAME`, `env:VAR`, `file:PATH`, `cmd:COMMAND ARGS`. */
export type SecretRef = string;

export function isSecretRef(v: string): boolean {
  const m = /^([a-z]+):(.+)$/s.exec(v);
  return m !== null && (SECRET_SCHEMES as readonly string[]).includes(m[1]!) && m[2]!.trim() !== '';
}
