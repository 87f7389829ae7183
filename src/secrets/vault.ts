// vault:NAME — an encrypted file for headless machines without a keychain.
// Format (JSON, mode 0600): scrypt parameters and salt, a key check, and one AES-256-GCM ciphertext of
// all entries, re-encrypted with a fresh nonce on every write. The header is authenticated too (AAD),
// so changing the parameters is detected like changing the ciphertext.
// Writers lock, re-read, modify and write atomically, so concurrent writers never lose entries.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configDir } from '../config/paths.js';
import { acquireLock, writeFileAtomic } from '../config/state-file.js';
import type { Config } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { runSecretCommand } from './cmd.js';
import { expandHome } from './file.js';
import { registerSecret } from './redact.js';
import type { SecretStore } from './types.js';

const FORMAT = 'otpbackup-vault';
const VERSION = 1;

interface KdfParams {
  name: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
}

interface VaultFile {
  format: typeof FORMAT;
  version: number;
  kdf: KdfParams;
  /** sha256 of the second half of the derived key: tells a wrong passphrase from a damaged file. */
  check: string;
  cipher: 'aes-256-gcm';
  nonce: string;
  tag: string;
  data: string;
}

const ENTRY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

export const DEFAULT_KDF = { N: 2 ** 15, r: 8, p: 1 } as const;

/** A new vault's passphrase has at least this many characters (an existing vault still opens). */
export const MIN_PASSPHRASE_LENGTH = 8;

export interface PassphraseRequest {
  /** True when the vault does not exist yet: a prompt should ask twice. */
  creating: boolean;
  path: string;
}

export interface VaultOptions {
  path: string;
  env: NodeJS.ProcessEnv;
  /** Program printing the passphrase (config vault.passphraseCommand). */
  passphraseCommand?: string[];
  /** Asks a person (TTY only); absent in cron runs. */
  askPassphrase?: (req: PassphraseRequest) => Promise<string>;
  /** Scrypt cost; tests may lower N. */
  kdf?: { N: number; r: number; p: number };
}

export function vaultPath(env: NodeJS.ProcessEnv, config?: Pick<Config, 'vault'>): string {
  const p = config?.vault?.path;
  return p ? expandHome(p, env) : join(configDir(env), 'vault.enc');
}

function deriveKey(passphrase: string, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * kdf.N * kdf.r + 16 * 1024 * 1024;
    scrypt(
      passphrase,
      Buffer.from(kdf.salt, 'base64'),
      64,
      { N: kdf.N, r: kdf.r, p: kdf.p, maxmem },
      (e, k) => (e ? reject(e) : resolve(k)),
    );
  });
}

function aad(f: Pick<VaultFile, 'format' | 'version' | 'kdf' | 'check' | 'cipher'>): Buffer {
  return Buffer.from(JSON.stringify([f.format, f.version, f.kdf, f.check, f.cipher]));
}

function damaged(path: string, why: string): OtpBackupError {
  return new OtpBackupError('secret', `vault ${path} is damaged or was tampered with (${why})`, {
    hint: 'restore it from a backup, or move it aside and store the secrets again',
  });
}

function shortPassphrase(path: string): OtpBackupError {
  return new OtpBackupError(
    'secret',
    `the passphrase for the new vault ${path} is shorter than ${MIN_PASSPHRASE_LENGTH} characters`,
    { hint: 'choose a longer one (a few words will do); nothing was stored' },
  );
}

function parseVaultFile(text: string, path: string): VaultFile {
  let f: VaultFile;
  try {
    f = JSON.parse(text) as VaultFile;
  } catch {
    throw damaged(path, 'not JSON');
  }
  if (f?.format !== FORMAT) throw damaged(path, 'not an otpbackup vault');
  if (f.version !== VERSION) {
    throw new OtpBackupError(
      'secret',
      `vault ${path} has version ${f.version}; this otpbackup reads ${VERSION}`,
      {
        hint: 'upgrade otpbackup',
      },
    );
  }
  const k = f.kdf;
  if (
    k?.name !== 'scrypt' ||
    ![k.N, k.r, k.p].every(Number.isInteger) ||
    k.N > 2 ** 22 ||
    k.r > 64 ||
    k.p > 16
  ) {
    throw damaged(path, 'bad key derivation parameters');
  }
  return f;
}

export class VaultStore implements SecretStore {
  readonly scheme = 'vault';
  /** Derived keys by salt, so one process asks for and derives the passphrase once. */
  private keys = new Map<string, Buffer>();
  private passphrase: string | undefined;

  constructor(private readonly opts: VaultOptions) {}

  get path(): string {
    return this.opts.path;
  }

  private async getPassphrase(creating: boolean): Promise<string> {
    if (this.passphrase !== undefined) return this.passphrase;
    let p: string | undefined = this.opts.env.OTPBACKUP_PASSPHRASE || undefined;
    if (p === undefined && this.opts.passphraseCommand?.length) {
      p = await runSecretCommand(this.opts.passphraseCommand, {
        env: this.opts.env,
        what: 'vault passphrase command',
      });
      if (!p) throw new OtpBackupError('secret', 'vault passphrase command printed nothing');
    }
    if (p === undefined && this.opts.askPassphrase)
      p = await this.opts.askPassphrase({ creating, path: this.path });
    if (!p) {
      throw new OtpBackupError('secret', `vault ${this.path} needs a passphrase`, {
        hint: 'set OTPBACKUP_PASSPHRASE, or vault.passphraseCommand in the config, or run it on a terminal',
      });
    }
    registerSecret(p);
    this.passphrase = p;
    return p;
  }

  private async key(f: Pick<VaultFile, 'kdf' | 'check'>, creating: boolean): Promise<Buffer> {
    const cached = this.keys.get(f.kdf.salt);
    if (cached) return cached;
    const k = await deriveKey(await this.getPassphrase(creating), f.kdf);
    const check = createHash('sha256').update(k.subarray(32)).digest();
    const expected = Buffer.from(f.check ?? '', 'base64');
    if (expected.length !== 32) throw damaged(this.path, 'bad key check');
    if (!timingSafeEqual(check, expected)) {
      this.passphrase = undefined;
      throw new OtpBackupError('secret', `wrong passphrase for vault ${this.path}`, {
        hint: 'check OTPBACKUP_PASSPHRASE or vault.passphraseCommand; nothing was changed',
      });
    }
    this.keys.set(f.kdf.salt, k);
    return k;
  }

  private async readFileText(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      throw new OtpBackupError('secret', `cannot read vault ${this.path}: ${code ?? (e as Error).message}`);
    }
  }

  /** All entries; an absent vault is empty (and needs no passphrase). */
  private async load(): Promise<{ entries: Record<string, string>; file?: VaultFile }> {
    const text = await this.readFileText();
    if (text === undefined) return { entries: {} };
    const f = parseVaultFile(text, this.path);
    const key = await this.key(f, false);
    let plain: string;
    try {
      const d = createDecipheriv('aes-256-gcm', key.subarray(0, 32), Buffer.from(f.nonce, 'base64'));
      d.setAAD(aad(f));
      d.setAuthTag(Buffer.from(f.tag, 'base64'));
      plain = Buffer.concat([d.update(Buffer.from(f.data, 'base64')), d.final()]).toString('utf8');
    } catch {
      throw damaged(this.path, 'authentication failed');
    }
    let entries: Record<string, string>;
    try {
      entries = (JSON.parse(plain) as { entries: Record<string, string> }).entries;
    } catch {
      throw damaged(this.path, 'bad content');
    }
    for (const v of Object.values(entries)) registerSecret(v);
    return { entries, file: f };
  }

  private async store(entries: Record<string, string>, prev: VaultFile | undefined): Promise<void> {
    let kdf: KdfParams;
    let check: string;
    let key: Buffer;
    if (prev) {
      kdf = prev.kdf;
      check = prev.check;
      key = await this.key(prev, false);
    } else {
      const c = this.opts.kdf ?? DEFAULT_KDF;
      kdf = { name: 'scrypt', N: c.N, r: c.r, p: c.p, salt: randomBytes(16).toString('base64') };
      const passphrase = await this.getPassphrase(true);
      if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
        this.passphrase = undefined;
        throw shortPassphrase(this.path);
      }
      key = await deriveKey(passphrase, kdf);
      check = createHash('sha256').update(key.subarray(32)).digest('base64');
      this.keys.set(kdf.salt, key);
    }
    const head = { format: FORMAT, version: VERSION, kdf, check, cipher: 'aes-256-gcm' } as const;
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key.subarray(0, 32), nonce);
    c.setAAD(aad(head));
    const data = Buffer.concat([c.update(JSON.stringify({ entries }), 'utf8'), c.final()]);
    const file: VaultFile = {
      ...head,
      nonce: nonce.toString('base64'),
      tag: c.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
    await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
  }

  /** Lock, re-read, change, write: entries written by others meanwhile survive. */
  private async modify(change: (entries: Record<string, string>) => boolean): Promise<void> {
    const lock = await acquireLock(`${this.path}.lock`, { waitMs: 30_000, what: `vault ${this.path}` });
    try {
      const { entries, file } = await this.load();
      if (change(entries)) await this.store(entries, file);
    } finally {
      lock.release();
    }
  }

  async get(name: string): Promise<string | undefined> {
    const { entries } = await this.load();
    return Object.hasOwn(entries, name) ? entries[name] : undefined;
  }

  async set(name: string, value: string): Promise<void> {
    if (!ENTRY_RE.test(name)) {
      throw new OtpBackupError('usage', `vault entry name "${name}" is not allowed`, {
        hint: 'use letters, digits, ".", "_", "-" and "/", starting with a letter or digit',
      });
    }
    registerSecret(value);
    await this.modify((e) => {
      e[name] = value;
      return true;
    });
  }

  async delete(name: string): Promise<void> {
    if ((await this.readFileText()) === undefined) return;
    await this.modify((e) => {
      if (!Object.hasOwn(e, name)) return false;
      delete e[name];
      return true;
    });
  }

  /**
   * Makes sure a later write will work before anything else is spent (a login, a one-time code): an
   * existing vault is opened (wrong passphrase: an error now), a new one gets its passphrase now.
   */
  async unlock(): Promise<void> {
    const text = await this.readFileText();
    if (text !== undefined) {
      await this.key(parseVaultFile(text, this.path), false);
      return;
    }
    const p = await this.getPassphrase(true);
    if ([...p].length < MIN_PASSPHRASE_LENGTH) {
      this.passphrase = undefined;
      throw shortPassphrase(this.path);
    }
  }

  /** Entry names (not values), for `account show` and diagnostics. */
  async list(): Promise<string[]> {
    return Object.keys((await this.load()).entries).sort();
  }
}
