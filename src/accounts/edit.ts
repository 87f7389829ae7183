// Editing an account, as a small transaction. Secrets not given again are kept; a rename or --store
// moves otpbackup's own entries. Order: plan (toAccount), set the login state aside, check the stores,
// test the login with the new values (nothing stored yet), store the secrets (old values remembered),
// save the config in place (comments kept; jobs follow a rename). Any failure restores what was
// written, and only after the save are the entries and the login state the account no longer uses
// deleted.
import { rename as renameFile, rm } from 'node:fs/promises';
import { isMap, isScalar } from 'yaml';
import type { Account } from '../config/types.js';
import { OtpBackupError, usageError } from '../errors.js';
import { type AccountInput, checkName, type SecretWrite, toAccount } from './input.js';
import { getAccount } from './lookup.js';
import type { ProbeResult } from './probe.js';
import { ownedByUs, refsOf } from './refs.js';
import { type AccountServices, loadAccountsConfig, type TransactionOptions } from './services.js';

export interface EditResult {
  edited: string;
  renamedFrom?: string;
  /** The config fields that changed, plus "password"/"otp" for new secret values and "name". */
  changed: string[];
  references?: Record<string, string>;
  deletedSecrets?: string[];
  tested: boolean;
  fingerprint?: string;
  notes?: string[];
  /** The live test's result (the CLI prints what it needs from it). */
  probe?: ProbeResult;
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

export async function editAccount(
  name: string,
  change: AccountInput,
  services: AccountServices,
  opts: TransactionOptions = {},
): Promise<EditResult> {
  const [save, { accountStatePath }] = await Promise.all([
    import('../config/save.js'),
    import('../config/paths.js'),
  ]);
  const config = await loadAccountsConfig(services);
  const old = getAccount(config, name);
  const newName = change.name ?? name;
  if (newName !== name) {
    checkName(newName, '--rename');
    if (config.accounts[newName]) throw usageError(`--rename: account "${newName}" already exists`);
  }
  const secrets = services.secrets(config);
  let draft = toAccount(change, old);
  if (draft.needsDefaultStore) draft = toAccount(change, old, (await secrets.defaultStore()).store);
  const { account: a, notes } = draft;
  // Moved secrets carry their stored value.
  const writes: (SecretWrite & { value: string })[] = [];
  for (const w of draft.writes) writes.push({ ...w, value: w.value ?? (await secrets.resolve(w.from!)) });

  const before = save.accountToYaml(old).full;
  const after = save.accountToYaml(a).full;
  const changed = Object.keys({ ...before, ...after }).filter(
    (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  if (change.password !== undefined && !changed.includes('password')) changed.push('password');
  if (change.otp.seed && !changed.includes('otp')) changed.push('otp');
  if (newName !== name) changed.unshift('name');
  if (!changed.length && !writes.length) return { edited: name, changed: [], tested: false };

  // The login state belongs to the seed: a new seed starts afresh (the old state is kept aside until
  // the edit is saved); a rename carries it along. Done before the test, whose login uses it.
  const oldState = accountStatePath(services.env, name);
  const newState = accountStatePath(services.env, newName);
  const aside = `${oldState}.before-edit`;
  let stateMoved: 'aside' | 'renamed' | undefined;
  if (change.otp.seed || a.otp.type !== old.otp.type) {
    if (await moveIfThere(oldState, aside)) stateMoved = 'aside';
  } else if (newName !== name && (await moveIfThere(oldState, newState))) stateMoved = 'renamed';
  const undoState = async () => {
    if (stateMoved === 'aside') {
      await rm(newState, { force: true });
      await moveIfThere(aside, oldState);
    } else if (stateMoved === 'renamed') await moveIfThere(newState, oldState);
  };

  let probe: ProbeResult | undefined;
  const written: SecretWrite[] = [];
  const restore: { ref: string; value: string }[] = [];
  try {
    // Every store about to be written must take the secrets: checked before a login spends a code.
    for (const scheme of new Set(writes.map((w) => w.ref.slice(0, w.ref.indexOf(':')))))
      if (scheme === 'vault' || scheme === 'keychain') await secrets.checkWritable(scheme);
    if (opts.test !== false) {
      const values = new Map(writes.map((w) => [w.ref, w.value]));
      probe = await services.probe(a, change.pins ?? [], (ref) =>
        values.has(ref) ? Promise.resolve(values.get(ref)!) : secrets.resolve(ref),
      );
    }
    for (const w of writes) {
      if (w.overwrites) restore.push({ ref: w.ref, value: await secrets.resolve(w.ref) });
      await secrets.store(w.ref, w.value);
      written.push(w);
    }
    await saveEdited(services, name, a, save);
  } catch (e) {
    for (const w of written) if (!w.overwrites) await secrets.delete(w.ref).catch(() => {});
    for (const r of restore) await secrets.store(r.ref, r.value).catch(() => {});
    await undoState().catch(() => {});
    throw e;
  }

  // Saved: entries otpbackup owned that the account no longer uses go, as does the old login state.
  const kept = new Set(Object.values(refsOf(a)));
  const deleted: string[] = [];
  for (const ref of Object.values(refsOf(old))) {
    if (!kept.has(ref) && ownedByUs(ref) && (await secrets.delete(ref).catch(() => false))) deleted.push(ref);
  }
  if (stateMoved === 'aside') await rm(aside, { force: true });
  return {
    edited: newName,
    ...(newName !== name ? { renamedFrom: name } : {}),
    changed,
    references: refsOf(a),
    deletedSecrets: deleted,
    tested: probe !== undefined,
    ...(probe?.fingerprint ? { fingerprint: probe.fingerprint } : {}),
    notes,
    ...(probe ? { probe } : {}),
  };
}

/** Writes `a` over the account `name` in place: its key renamed (comments kept), jobs repointed. */
async function saveEdited(
  services: AccountServices,
  name: string,
  a: Account,
  save: typeof import('../config/save.js'),
): Promise<void> {
  const { full, minimal } = save.accountToYaml(a);
  await save.editConfig(services.env, services.configPath, (doc) => {
    const accounts = doc.get('accounts', true);
    const pair = isMap(accounts)
      ? accounts.items.find((p) => isScalar(p.key) && p.key.value === name)
      : undefined;
    if (!pair || !isMap(pair.value))
      throw new OtpBackupError('config', `account "${name}" vanished from the config while editing`);
    if (a.name !== name) {
      (pair.key as { value: unknown }).value = a.name;
      const jobs = doc.get('jobs', true);
      for (const j of isMap(jobs) ? jobs.items : []) {
        const ref = isMap(j.value) ? j.value.get('account', true) : undefined;
        if (isScalar(ref) && ref.value === name) ref.value = a.name;
      }
    }
    save.mergeInto(doc, pair.value, full, minimal);
  });
}
