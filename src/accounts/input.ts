// What a person asks for when adding or editing an account, whether given as flags or typed at the
// prompts: `AccountInput`. Secrets are values in this process (never environment variables a child
// could inherit). `toAccount` turns an input (and, for edit, the account as it is) into the account to
// save, plus the secret writes that go with it; it checks everything that needs no server or store.
import { DEFAULTS, defaultTemplate, NAME_RE } from '../config/schema.js';
import type { Account, Algorithm, PromptRule, Protocol } from '../config/types.js';
import { usageError } from '../errors.js';
import { encodeBase32, parseTemplate } from '../otp/index.js';
import { checkTemplateHasCode } from '../otp/template-check.js';
import type { WritableStore } from '../secrets/resolve.js';
import { checkHostKeyFlag } from '../transport/sftp/hostkeys.js';
import { ownedByUs, ownStoreOf, type SecretRole, secretRef } from './refs.js';

/** A seed and, from an otpauth:// URI or QR code, the settings that came with it. */
export interface SeedInput {
  secret: Uint8Array;
  uri?: { type: 'totp' | 'hotp'; algorithm: Algorithm; digits: number; period: number; counter?: number };
}

export interface AccountInput {
  /** add: the account's name; edit: its new name (a rename). */
  name?: string;
  /** Protocol, host, port and user (from --url or the prompts); edit keeps the old ones without it. */
  server?: { protocol: Protocol; host: string; port: number; user: string };
  /** Config form ("." = the login directory, relative below it, or absolute). Required for add. */
  remoteDir?: string;
  /** The static password, in memory. */
  password?: string;
  otp: {
    /** 'prompt': no seed, a person types each code; edit also takes totp and hotp. */
    type?: 'totp' | 'hotp' | 'prompt';
    /** --hotp: a plain seed (given, or for edit the kept one) counts logins instead of time. */
    hotp?: boolean;
    seed?: SeedInput;
    algorithm?: Algorithm;
    digits?: number;
    period?: number;
    reuse?: 'forbid' | 'allow';
  };
  template?: string;
  /** Accept a template without ${TOTP}/${HOTP}/${OTP} on purpose (SFTP only). */
  allowNoCode?: boolean;
  /** Fingerprints to pin (--trust-host-key): SSH host keys, or TLS certificates for FTPS. */
  pins?: string[];
  /** Where new secrets go; for edit, also where the stored ones move to. */
  store?: WritableStore;
  /** SFTP keyboard-interactive rules, tried before the defaults (edit: they replace the account's). */
  prompts?: PromptRule[];
  /** SFTP private key file (checked readable): publickey first, then keyboard-interactive. */
  key?: string;
}

/** One secret to store for the new account: a new value, or a stored one moved to `ref`. */
export interface SecretWrite {
  role: SecretRole;
  ref: string;
  /** The value to store; undefined: the value stored under `from` (a move to a new name or store). */
  value?: string;
  from?: string;
  /** `ref` already holds the account's old value (it is restored when the edit fails). */
  overwrites: boolean;
}

export interface AccountDraft {
  account: Account;
  writes: SecretWrite[];
  /** For the person: what changed beyond what they asked (e.g. pins dropped for a new server). */
  notes: string[];
  /** A new secret needs a store and neither the input nor the old references name one. */
  needsDefaultStore: boolean;
}

/** The name rule, with the flag that gave the name in the message. */
export function checkName(name: string, flag?: string): void {
  if (!NAME_RE.test(name))
    throw usageError(
      `${flag ? `${flag}: ` : ''}account name "${name}" is not allowed`,
      'use letters, digits, ".", "_" and "-"',
    );
}

/**
 * The account `input` describes: a new one, or `existing` changed by it. Secret references follow
 * refs.ts: a new secret goes to input.store, else the store the account already uses, else
 * `defaultStore` (when that is missing too, the draft says needsDefaultStore and names keychain refs).
 */
export function toAccount(
  input: AccountInput,
  existing?: Account,
  defaultStore?: WritableStore,
): AccountDraft {
  const name = input.name ?? existing?.name;
  if (name === undefined) throw usageError('the account name is missing');
  if (!existing || name !== existing.name) checkName(name, existing ? '--rename' : undefined);
  const notes: string[] = [];
  const a: Account = existing
    ? { ...structuredClone(existing), name }
    : {
        name,
        protocol: input.server?.protocol ?? 'sftp',
        host: input.server?.host ?? '',
        port: input.server?.port ?? 0,
        user: input.server?.user ?? '',
        remoteDir: '.',
        template: '',
        otp: { ...DEFAULTS.otp, reuse: 'forbid' },
        trust: {},
      };
  if (!input.server && !existing) throw usageError('account add: --url is missing');
  if (input.server && existing) {
    const s = input.server;
    const moved = s.protocol !== a.protocol || s.host !== a.host || s.port !== a.port;
    Object.assign(a, s);
    if (moved && (a.trust.hostKeys || a.trust.tlsFingerprints)) {
      delete a.trust.hostKeys;
      delete a.trust.tlsFingerprints;
      notes.push('the server changed: its pinned fingerprints were dropped');
    }
  }
  if (input.remoteDir !== undefined || !existing) {
    if (!input.remoteDir || /[\r\n\0]/.test(input.remoteDir))
      throw usageError('--remote-dir: expected a directory path without control characters');
    a.remoteDir = input.remoteDir;
  }
  applySftp(a, input);
  applyTrust(a, input.pins);
  const seedValue = applyOtp(a, input, existing);
  if (input.otp.reuse !== undefined) a.otp.reuse = input.otp.reuse;
  if (input.template !== undefined) {
    checkTemplateHasCode(input.template, a.protocol, input.allowNoCode);
    a.template = input.template;
  } else if (!existing) a.template = defaultTemplate(input.password !== undefined);
  parseTemplate(a.template);

  // Secret references: where each given value (or owned secret that moves) is stored.
  const store = input.store ?? ownStoreOf(existing?.otp.secret) ?? ownStoreOf(existing?.password);
  let needsDefaultStore = false;
  const writes: SecretWrite[] = [];
  const plan = (role: SecretRole, oldRef: string | undefined, value: string | undefined) => {
    const owned = oldRef !== undefined && ownedByUs(oldRef);
    const relocate =
      owned && (name !== existing?.name || (input.store !== undefined && ownStoreOf(oldRef) !== input.store));
    if (value === undefined && !relocate) return oldRef; // kept as it is (also env:, file:, cmd: refs)
    if (owned && !relocate) {
      writes.push({ role, ref: oldRef, value: value!, overwrites: true });
      return oldRef;
    }
    const target = store ?? defaultStore;
    if (!target) needsDefaultStore = true;
    const ref = secretRef(target ?? 'keychain', name, role);
    writes.push({ role, ref, ...(value === undefined ? { from: oldRef! } : { value }), overwrites: false });
    return ref;
  };
  const pw = plan('password', existing?.password, input.password);
  if (pw === undefined) delete a.password;
  else a.password = pw;
  if (a.otp.type === 'totp' || a.otp.type === 'hotp') {
    const ref = plan('otp', existing?.otp.secret, seedValue);
    if (ref !== undefined) a.otp.secret = ref;
  }
  return { account: a, writes, notes, needsDefaultStore };
}

/** `prompts` and `key`: how an SFTP server's login is answered beyond the default rules. */
function applySftp(a: Account, input: AccountInput): void {
  for (const [flag, given] of [
    ['--prompt', input.prompts?.length],
    ['--key', input.key],
  ] as const) {
    if (given && a.protocol !== 'sftp')
      throw usageError(`${flag} is for sftp:// accounts only`, 'FTP logins are shaped by --template');
  }
  if (input.prompts?.length) a.prompts = input.prompts;
  if (input.key) {
    a.privateKey = input.key;
    a.authMethods = ['publickey', 'keyboard-interactive'];
  }
}

/** Pins replace the account's: SSH host keys, or TLS certificate fingerprints for FTPS. */
function applyTrust(a: Account, pins: string[] | undefined): void {
  const tls = a.protocol === 'ftps' || a.protocol === 'ftps-implicit';
  if (!tls) checkHostKeyFlag('--trust-host-key', pins);
  if (!pins?.length) return;
  delete a.trust.hostKeys;
  delete a.trust.tlsFingerprints;
  if (tls) a.trust.tlsFingerprints = pins;
  else a.trust.hostKeys = pins;
}

/**
 * The one-time password settings; returns the new seed (Base32) when one was given. A new seed
 * starts a new code sequence (the counter from the URI, else 0); a kept seed keeps its counter.
 */
function applyOtp(a: Account, input: AccountInput, existing?: Account): string | undefined {
  const o = input.otp;
  const seed = o.seed;
  if (seed && o.type === 'prompt') throw usageError('--otp-type prompt takes no seed');
  if (!existing && !seed && o.type !== 'prompt')
    throw usageError(
      'the one-time password seed is missing',
      'pass --totp-secret-env VAR, --otpauth-uri-env VAR or --qr FILE (or --otp-type prompt)',
    );
  const flags = (p: { algorithm: Algorithm; digits: number; period: number }) => {
    if (o.algorithm !== undefined) p.algorithm = o.algorithm;
    if (o.digits !== undefined) p.digits = o.digits;
    if (o.period !== undefined) p.period = o.period;
  };
  if (seed) {
    const p = seed.uri
      ? { ...seed.uri }
      : {
          type: o.hotp || existing?.otp.type === 'hotp' ? ('hotp' as const) : ('totp' as const),
          algorithm: a.otp.algorithm,
          digits: a.otp.digits,
          period: a.otp.period,
        };
    flags(p);
    Object.assign(a.otp, {
      type: existing ? (o.type ?? p.type) : p.type,
      algorithm: p.algorithm,
      digits: p.digits,
      period: p.period,
    });
    if (a.otp.type === 'hotp') a.otp.counter = ('counter' in p ? p.counter : undefined) ?? 0;
    else delete a.otp.counter;
  } else {
    flags(a.otp);
    if (o.hotp && o.type === undefined) a.otp.type = 'hotp';
    if (o.type) a.otp.type = o.type;
    if ((a.otp.type === 'totp' || a.otp.type === 'hotp') && !a.otp.secret)
      throw usageError(
        `account "${existing?.name}" has no seed to compute codes from`,
        'pass --totp-secret-env VAR, --otpauth-uri-env VAR or --qr FILE',
      );
    if (a.otp.type === 'hotp' && existing?.otp.type !== 'hotp') a.otp.counter = 0;
  }
  if (a.otp.type === 'prompt') {
    delete a.otp.secret;
    delete a.otp.counter;
  }
  return seed ? encodeBase32(seed.secret) : undefined;
}
