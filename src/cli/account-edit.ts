// `otpbackup account edit NAME`: change an account with the flags of `account add`, or on a terminal by
// answering pre-filled questions. Secrets not given again are kept. Unless --no-test the changed account
// must log in and write a probe file before anything is stored; the config is then edited in place
// (comments kept) and written atomically. --rename moves otpbackup's own keychain/vault entries and the
// account's login state (HOTP counter, last TOTP step) to the new name and repoints the jobs.
import { rename as renameFile, rm } from 'node:fs/promises';
import { isMap, isScalar } from 'yaml';
import type { Account } from '../config/types.js';
import { OtpBackupError, usageError } from '../errors.js';
import type { AddOptions } from './commands/account.js';
import type { CliContext } from './context.js';
import { printJson } from './report.js';
import { checkTemplateHasCode } from './template-check.js';

export interface EditOptions extends Omit<AddOptions, 'url'> {
  url?: string;
  /** New name for the account. */
  rename?: string;
  /** Remote base directory, as typed (relative to the login directory, or absolute). */
  remoteDir?: string;
}

/** The flags that change something (everything but --config, --json, --no-test). */
const CHANGE_FLAGS = [
  'url',
  'rename',
  'remoteDir',
  'otpType',
  'passwordEnv',
  'totpSecretEnv',
  'otpauthUriEnv',
  'qr',
  'hotp',
  'template',
  'trustHostKey',
  'store',
  'algorithm',
  'digits',
  'period',
  'otpReuse',
  'prompt',
  'key',
] as const;

export function hasChangeFlags(opts: EditOptions): boolean {
  return CHANGE_FLAGS.some((k) => opts[k] !== undefined);
}

interface SecretMove {
  role: 'password' | 'otp';
  ref: string;
  value: string;
  /** The entry existed under this ref before (its old value is restored if saving fails). */
  overwrites?: string;
}

/** Moves a file if it exists; true when it did. */
async function moveIfThere(from: string, to: string): Promise<boolean> {
  try {
    await renameFile(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export async function editAccount(name: string, opts: EditOptions, ctx: CliContext) {
  const [acct, { NAME_RE }, { parseTargetUrl }, otp, secrets, save, { accountStatePath }] = await Promise.all(
    [
      import('./commands/account.js'),
      import('../config/schema.js'),
      import('../config/url.js'),
      import('../otp/index.js'),
      import('../secrets/resolve.js'),
      import('../config/save.js'),
      import('../config/paths.js'),
    ],
  );
  const config = await acct.load(ctx, opts);
  const old = acct.getAccount(config, name);
  const newName = opts.rename ?? name;
  if (newName !== name) {
    if (!NAME_RE.test(newName))
      throw usageError(
        `--rename: account name "${newName}" is not allowed`,
        'use letters, digits, ".", "_" and "-"',
      );
    if (config.accounts[newName]) throw usageError(`--rename: account "${newName}" already exists`);
  }
  const a: Account = structuredClone(old);
  a.name = newName;
  const notes: string[] = [];

  if (opts.url) {
    const t = parseTargetUrl(opts.url, '--url');
    const moved = t.protocol !== old.protocol || t.host !== old.host || t.port !== old.port;
    Object.assign(a, { protocol: t.protocol, host: t.host, port: t.port, user: t.user });
    // A URL without a path keeps the remote directory.
    if (t.hasPath) a.remoteDir = t.remoteDir;
    if (moved && (a.trust.hostKeys || a.trust.tlsFingerprints)) {
      delete a.trust.hostKeys;
      delete a.trust.tlsFingerprints;
      notes.push('the server changed: its pinned fingerprints were dropped');
    }
  }
  if (opts.remoteDir !== undefined) {
    if (!opts.remoteDir || /[\r\n\0]/.test(opts.remoteDir))
      throw usageError('--remote-dir: expected a directory path without control characters');
    a.remoteDir = opts.remoteDir;
  }
  // After --url: the flags are refused unless the account (now) speaks SFTP.
  await acct.applySftpFlags(a, opts);
  const tls = a.protocol === 'ftps' || a.protocol === 'ftps-implicit';
  if (!tls)
    (await import('../transport/hostkeys.js')).checkHostKeyFlag('--trust-host-key', opts.trustHostKey);
  if (opts.trustHostKey?.length) {
    delete a.trust.hostKeys;
    delete a.trust.tlsFingerprints;
    if (tls) a.trust.tlsFingerprints = opts.trustHostKey;
    else a.trust.hostKeys = opts.trustHostKey;
  }

  // One-time password settings. A new seed starts a new code sequence: the login state is reset.
  if (opts.otpType !== undefined && !['totp', 'hotp', 'prompt'].includes(opts.otpType))
    throw usageError(`--otp-type: expected totp, hotp or prompt, got "${opts.otpType.slice(0, 20)}"`);
  const given = await acct.readSeed(opts, ctx, {
    type: old.otp.type === 'hotp' ? 'hotp' : 'totp',
    algorithm: old.otp.algorithm,
    digits: old.otp.digits,
    period: old.otp.period,
  });
  if (given) {
    if (opts.otpType === 'prompt') throw usageError('--otp-type prompt takes no seed');
    Object.assign(a.otp, {
      type: opts.otpType ?? given.params.type,
      algorithm: given.params.algorithm,
      digits: given.params.digits,
      period: given.params.period,
    });
    if (a.otp.type === 'hotp') a.otp.counter = given.params.counter ?? 0;
    else delete a.otp.counter;
  } else {
    acct.applyOtpFlags(opts, a.otp, otp);
    if (opts.hotp && opts.otpType === undefined) a.otp.type = 'hotp';
    if (opts.otpType) a.otp.type = opts.otpType as Account['otp']['type'];
    if ((a.otp.type === 'totp' || a.otp.type === 'hotp') && !a.otp.secret)
      throw usageError(
        `account "${name}" has no seed to compute codes from`,
        'pass --totp-secret-env VAR, --otpauth-uri-env VAR or --qr FILE',
      );
    if (a.otp.type === 'hotp' && old.otp.type !== 'hotp') a.otp.counter = 0;
  }
  if (a.otp.type === 'prompt') {
    delete a.otp.secret;
    delete a.otp.counter;
  }
  if (opts.otpReuse !== undefined) a.otp.reuse = acct.otpReuse(opts.otpReuse);
  if (opts.template !== undefined) {
    checkTemplateHasCode(opts.template, a.protocol, opts.allowNoCode);
    a.template = opts.template;
  }
  otp.parseTemplate(a.template);
  const password = acct.givenPassword(opts, ctx);

  // Where new or moved secrets go: --store, else the store the account already uses, else the default.
  if (opts.store !== undefined && opts.store !== 'keychain' && opts.store !== 'vault')
    throw usageError(`--store: expected keychain or vault, got "${opts.store}"`);
  const schemeOf = (ref: string | undefined) =>
    ref && acct.ownedByUs(ref) ? (ref.startsWith('vault:') ? 'vault' : 'keychain') : undefined;
  let store = opts.store ?? schemeOf(old.otp.secret) ?? schemeOf(old.password);
  const deps: import('../secrets/resolve.js').SecretDeps = { env: ctx.env, config };
  const ask = acct.passphraseAsker(ctx);
  if (ask) deps.askPassphrase = ask;
  const moves: SecretMove[] = [];
  const plan = async (role: SecretMove['role'], oldRef: string | undefined, value: string | undefined) => {
    const owned = oldRef !== undefined && acct.ownedByUs(oldRef);
    const relocate =
      owned && (newName !== name || (opts.store !== undefined && schemeOf(oldRef) !== opts.store));
    if (value === undefined && !relocate) return oldRef; // kept as it is (also env:, file:, cmd: refs)
    if (value === undefined) value = await secrets.resolveSecret(oldRef!, deps);
    if (owned && !relocate) {
      moves.push({ role, ref: oldRef!, value, overwrites: oldRef });
      return oldRef;
    }
    store ??= (await secrets.chooseDefaultStore(ctx.env)).store;
    const ref = store === 'keychain' ? `keychain:otpbackup/${newName}-${role}` : `vault:${newName}/${role}`;
    moves.push({ role, ref, value });
    return ref;
  };
  const pw = await plan('password', old.password, password);
  if (pw === undefined) delete a.password;
  else a.password = pw;
  if (a.otp.type === 'totp' || a.otp.type === 'hotp') {
    const seedRef = await plan('otp', old.otp.secret, given ? otp.encodeBase32(given.seed) : undefined);
    if (seedRef !== undefined) a.otp.secret = seedRef;
  }

  const before = save.accountToYaml(old).full;
  const after = save.accountToYaml(a).full;
  const changed = Object.keys({ ...before, ...after }).filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  if (password !== undefined && !changed.includes('password')) changed.push('password');
  if (given && !changed.includes('otp')) changed.push('otp');
  if (newName !== name) changed.unshift('name');
  if (!changed.length && !moves.length) {
    const result = { edited: name, changed: [], tested: false };
    if (opts.json) printJson(ctx, result, { pretty: true });
    else ctx.stdout.write(`account ${name}: nothing to change\n`);
    return result;
  }

  // The login state belongs to the seed: a new seed starts afresh (the old state is kept aside until
  // the edit is saved); a rename carries it along. Done before the test, whose login uses it.
  const oldState = accountStatePath(ctx.env, name);
  const newState = accountStatePath(ctx.env, newName);
  const aside = `${oldState}.before-edit`;
  let stateMoved: 'aside' | 'renamed' | undefined;
  if (given || a.otp.type !== old.otp.type) {
    if (await moveIfThere(oldState, aside)) stateMoved = 'aside';
  } else if (newName !== name && (await moveIfThere(oldState, newState))) stateMoved = 'renamed';
  const undoState = async () => {
    if (stateMoved === 'aside') {
      await rm(newState, { force: true });
      await moveIfThere(aside, oldState);
    } else if (stateMoved === 'renamed') await moveIfThere(newState, oldState);
  };

  let tested: import('../backup/account-test.js').ProbeResult | undefined;
  const written: SecretMove[] = [];
  const restore: { ref: string; value: string }[] = [];
  try {
    // Every store about to be written must take the secrets: checked before a login spends a code.
    for (const scheme of new Set(moves.map((m) => m.ref.slice(0, m.ref.indexOf(':')))))
      if (scheme === 'vault' || scheme === 'keychain') await secrets.checkWritable(scheme, deps);
    if (opts.test !== false) {
      const values = new Map(moves.map((m) => [m.ref, m.value]));
      tested = await acct.liveTest(a, ctx, opts.trustHostKey ?? [], (ref) =>
        values.has(ref) ? Promise.resolve(values.get(ref)!) : secrets.resolveSecret(ref, deps),
      );
    }
    for (const m of moves) {
      if (m.overwrites) restore.push({ ref: m.ref, value: await secrets.resolveSecret(m.ref, deps) });
      await secrets.storeSecret(m.ref, m.value, deps);
      written.push(m);
    }
    const { full, minimal } = save.accountToYaml(a);
    await save.editConfig(ctx.env, opts.config, (doc) => {
      const accounts = doc.get('accounts', true);
      const pair = isMap(accounts)
        ? accounts.items.find((p) => isScalar(p.key) && p.key.value === name)
        : undefined;
      if (!pair || !isMap(pair.value))
        throw new OtpBackupError('config', `account "${name}" vanished from the config while editing`);
      if (newName !== name) {
        // Renaming the key in place keeps its comments; jobs follow the account.
        (pair.key as { value: unknown }).value = newName;
        const jobs = doc.get('jobs', true);
        for (const j of isMap(jobs) ? jobs.items : []) {
          const ref = isMap(j.value) ? j.value.get('account', true) : undefined;
          if (isScalar(ref) && ref.value === name) ref.value = newName;
        }
      }
      save.mergeInto(doc, pair.value, full, minimal);
    });
  } catch (e) {
    for (const m of written) if (!m.overwrites) await secrets.deleteSecret(m.ref, deps).catch(() => {});
    for (const r of restore) await secrets.storeSecret(r.ref, r.value, deps).catch(() => {});
    await undoState().catch(() => {});
    throw e;
  }

  // Saved: entries otpbackup owned that the account no longer uses go, as does the old login state.
  const kept = new Set(Object.values(acct.refsOf(a)));
  const deleted: string[] = [];
  for (const ref of Object.values(acct.refsOf(old))) {
    if (!kept.has(ref) && acct.ownedByUs(ref) && (await secrets.deleteSecret(ref, deps).catch(() => false)))
      deleted.push(ref);
  }
  if (stateMoved === 'aside') await rm(aside, { force: true });

  const result = {
    edited: newName,
    ...(newName !== name ? { renamedFrom: name } : {}),
    changed,
    references: acct.refsOf(a),
    deletedSecrets: deleted,
    tested: tested !== undefined,
    ...(tested?.fingerprint ? { fingerprint: tested.fingerprint } : {}),
    notes,
  };
  if (opts.json) printJson(ctx, result, { pretty: true });
  else {
    ctx.stdout.write(
      `updated account ${newName}${newName !== name ? ` (was ${name})` : ''}: ${changed.join(', ')}\n`,
    );
    for (const n of notes) ctx.stdout.write(`note: ${n}\n`);
    if (tested)
      ctx.stdout.write(
        `login and probe file OK${tested.fingerprint ? `; server ${tested.fingerprint} (${tested.fingerprintSource})` : ''}\n`,
      );
  }
  return result;
}

/** Asks every field with the current value as the answer; empty secrets keep the stored ones. */
export async function editInteractive(name: string, opts: EditOptions, ctx: CliContext) {
  const [acct, { askAccountEdit, interruptible }] = await Promise.all([
    import('./commands/account.js'),
    import('./account-interactive.js'),
  ]);
  const old = acct.getAccount(await acct.load(ctx, opts), name);
  const a = await askAccountEdit(old);
  const o: EditOptions = {
    ...opts,
    url: a.url,
    remoteDir: a.remoteDir,
    template: a.template,
    algorithm: a.algorithm,
    digits: a.digits,
    period: a.period,
  };
  if (a.name !== name) o.rename = a.name;
  // Keeping the stored template is not a new choice to question.
  if (a.template === old.template) o.allowNoCode = true;
  // The typed secrets are handed on in memory (never through an environment children inherit).
  o.typed = {};
  if (a.otp !== undefined) o.typed = { otp: a.otp, otpIsUri: a.isUri };
  if (a.password !== undefined) o.typed.password = a.password;
  return interruptible(() => editAccount(name, o, ctx));
}
