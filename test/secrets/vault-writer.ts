// Child process for the concurrent-writer test: writes `count` entries "<prefix>-<i>" into the vault.
// Usage: node --import tsx test/secrets/vault-writer.ts VAULT_PATH PREFIX COUNT (passphrase in env)
import { VaultStore } from '../../src/secrets/vault.js';

const [path, prefix, count] = process.argv.slice(2);
const store = new VaultStore({ path: path!, env: process.env, kdf: { N: 2 ** 12, r: 8, p: 1 } });
for (let i = 0; i < Number(count); i++) await store.set(`${prefix}-${i}`, `value-${prefix}-${i}`);
