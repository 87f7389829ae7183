// Edits config.yaml in place through the yaml Document, so comments, key order and hand formatting of
// everything not changed survive. Each edit: lock, re-read, modify, validate the result, write
// atomically (0600). An edit that would leave an invalid config writes nothing.
import { chmod, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Document, isMap, isScalar, isSeq, YAMLMap } from 'yaml';
import { splitWords } from '../argv.js';
import { OtpBackupError } from '../errors.js';
import { formatRate } from '../transport/bwlimit.js';
import { isObj, type Table } from './field.js';
import { checkDocument, configProblemsError, parseYaml } from './load.js';
import { configDir, configPath } from './paths.js';
import {
  ACCOUNT_FIELDS,
  defaultPort,
  defaultTemplate,
  JOB_FIELDS,
  OTP_FIELDS,
  PROMPT_FIELDS,
} from './schema.js';
import { acquireLock, writeFileAtomic } from './state-file.js';
import type { Account, Config, Job } from './types.js';

type Obj = Record<string, unknown>;

const HEADER =
  ' otpbackup configuration. Secrets are never written here: use\n' +
  ' references such as env:VAR, keychain:SERVICE/KEY, vault:NAME, file:PATH or cmd:COMMAND.';

/**
 * `value` as YAML-ready data: keys in the table's order (the order people read and the docs list),
 * unset values dropped, sections recursed into and dropped when empty. Every key of the table is
 * carried, so a field added to the schema is saved without touching this file.
 */
function ordered(table: Table, value: Obj): Obj {
  const out: Obj = {};
  for (const [k, f] of Object.entries(table)) {
    let v = value[k];
    if (v === undefined) continue;
    // "1M" rather than 1048576, as people write it.
    if (f.kind === 'rate' && typeof v === 'number') v = formatRate(v);
    if (f.kind === 'section' && isObj(v)) {
      v = ordered(f.fields, v);
      if (!Object.keys(v as Obj).length) continue;
    }
    out[k] = v;
  }
  return out;
}

/** `full` without the values equal to their table default (what a new entry need not spell out). */
function withoutDefaults(table: Table, full: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(full)) {
    const f = table[k];
    if (f && 'default' in f && f.default === v) continue;
    out[k] = v;
  }
  return out;
}

/** The account as YAML: `full` has every field, `minimal` leaves out values equal to the defaults. */
export function accountToYaml(a: Account): { full: Obj; minimal: Obj } {
  const full = ordered(ACCOUNT_FIELDS, {
    ...a,
    prompts: a.prompts?.map((p) => ordered(PROMPT_FIELDS, p)),
  });
  const otpMin = withoutDefaults(OTP_FIELDS, full.otp as Obj);
  // HOTP's initial counter 0 is what a missing one means.
  if (otpMin.counter === 0) delete otpMin.counter;
  const minimal: Obj = { ...withoutDefaults(ACCOUNT_FIELDS, full), otp: otpMin };
  if (a.port === defaultPort(a.protocol)) delete minimal.port;
  if (a.template === defaultTemplate(a.password !== undefined)) delete minimal.template;
  return { full, minimal };
}

export function jobToYaml(j: Job): { full: Obj; minimal: Obj } {
  const full = ordered(JOB_FIELDS, { ...j, copyFirst: j.copyFirst ? true : undefined });
  const minimal = withoutDefaults(JOB_FIELDS, full);
  if (minimal.remoteDir === j.name) delete minimal.remoteDir;
  return { full, minimal };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A command written as one string ("pg_dump -f x") that reads as `argv`: left as the person wrote it. */
function sameCommand(text: unknown, argv: unknown): boolean {
  if (typeof text !== 'string' || !Array.isArray(argv)) return false;
  try {
    return sameJson(splitWords(text), argv);
  } catch {
    return false;
  }
}

/**
 * Brings `map` to `full`, touching only what differs: unchanged values keep their comments and style,
 * keys absent from the file are added only when not a default (`minimal`), keys no longer set go.
 */
export function mergeInto(doc: Document, map: YAMLMap, full: Obj, minimal: Obj): void {
  for (const [k, v] of Object.entries(full)) {
    const existing = map.get(k, true);
    if (existing === undefined || existing === null) {
      if (minimal[k] !== undefined) map.set(k, doc.createNode(minimal[k]));
      continue;
    }
    if (isMap(existing) && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const m = minimal[k];
      mergeInto(doc, existing, v as Obj, typeof m === 'object' && m !== null ? (m as Obj) : {});
    } else if (isScalar(existing) && (typeof v !== 'object' || v === null)) {
      // Assigning the value in place keeps a trailing comment on the scalar.
      if (existing.value !== v) existing.value = v;
    } else if (isScalar(existing) && sameCommand(existing.value, v)) {
      // hooks.before: "pg_dump -f x" and its argv are the same command.
    } else if (!(isSeq(existing) && sameJson(existing.toJSON(), v))) {
      map.set(k, doc.createNode(v));
    }
  }
  for (const pair of [...map.items]) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key === 'string' && full[key] === undefined) map.delete(key);
  }
}

/** The `section` mapping (accounts, jobs), created when missing or empty. */
function section(doc: Document, name: string): YAMLMap {
  const node = doc.get(name, true);
  if (isMap(node)) return node;
  const map = new YAMLMap();
  doc.set(name, map);
  return map;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new OtpBackupError('config', `cannot read config file ${path}: ${code ?? (e as Error).message}`);
  }
}

/** Lock, re-read, edit, validate, write atomically. Returns the config as written. */
export async function editConfig(
  env: NodeJS.ProcessEnv,
  override: string | undefined,
  edit: (doc: Document) => void,
): Promise<Config> {
  const path = configPath(env, override);
  const lock = await acquireLock(`${path}.lock`, { waitMs: 10_000, what: `config file ${path}` });
  try {
    const text = await readText(path);
    const parsed = parseYaml(text ?? '');
    const before = checkDocument(parsed, path);
    if (before.problems.length) {
      const err = configProblemsError(path, before.problems);
      throw new OtpBackupError('config', err.message, {
        hint: 'fix the config file first; nothing was changed',
        details: before.problems,
      });
    }
    const doc = parsed.doc;
    if (!text?.trim()) doc.commentBefore = HEADER;
    edit(doc);
    // No line folding and `[a, b]` rather than `[ a, b ]`: closest to what people type.
    const out = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
    const after = checkDocument(parseYaml(out), path);
    if (after.problems.length) {
      throw new OtpBackupError(
        'config',
        `the change would make ${path} invalid: ${after.problems.join('; ')}`,
        {
          hint: 'nothing was changed',
          details: after.problems,
        },
      );
    }
    await writeFileAtomic(path, out, 0o600);
    // The default directory also holds the vault and known_hosts: keep it private.
    if (dirname(path) === configDir(env)) await chmod(dirname(path), 0o700).catch(() => {});
    return after.config;
  } finally {
    lock.release();
  }
}

/** Adds or updates an account, preserving comments and untouched keys. */
export async function saveAccount(env: NodeJS.ProcessEnv, override: string | undefined, account: Account) {
  const { full, minimal } = accountToYaml(account);
  return editConfig(env, override, (doc) => {
    const accounts = section(doc, 'accounts');
    const existing = accounts.get(account.name, true);
    if (isMap(existing)) mergeInto(doc, existing, full, minimal);
    else accounts.set(account.name, doc.createNode(minimal));
  });
}

export async function removeAccount(env: NodeJS.ProcessEnv, override: string | undefined, name: string) {
  return editConfig(env, override, (doc) => {
    const accounts = doc.get('accounts', true);
    if (!isMap(accounts) || !accounts.has(name)) {
      throw new OtpBackupError('usage', `no account "${name}" in the config`, {
        hint: 'run `otpbackup account list` to see the accounts',
      });
    }
    const jobs = doc.get('jobs', true);
    const users = isMap(jobs)
      ? jobs.items.filter((p) => isMap(p.value) && p.value.get('account') === name).map((p) => String(p.key))
      : [];
    if (users.length) {
      throw new OtpBackupError('usage', `account "${name}" is used by job ${users.join(', ')}`, {
        hint: 'remove those jobs or point them at another account first',
      });
    }
    accounts.delete(name);
  });
}

export async function saveJob(env: NodeJS.ProcessEnv, override: string | undefined, job: Job) {
  const { full, minimal } = jobToYaml(job);
  return editConfig(env, override, (doc) => {
    const jobs = section(doc, 'jobs');
    const existing = jobs.get(job.name, true);
    if (isMap(existing)) mergeInto(doc, existing, full, minimal);
    else jobs.set(job.name, doc.createNode(minimal));
  });
}

export async function removeJob(env: NodeJS.ProcessEnv, override: string | undefined, name: string) {
  return editConfig(env, override, (doc) => {
    const jobs = doc.get('jobs', true);
    if (!isMap(jobs) || !jobs.has(name)) {
      throw new OtpBackupError('usage', `no job "${name}" in the config`, {
        hint: 'run `otpbackup job list` to see the jobs',
      });
    }
    jobs.delete(name);
  });
}
