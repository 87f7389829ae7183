// The config schema: one table per section (kind, bounds, default, help of every field; see
// field.ts). From these tables come the types (types.ts infers them), the allowed keys and their
// did-you-mean, the readers' bounds, the defaults, and the saver's field order (save.ts). What a table
// cannot say — rules between fields (a margin below the period, a template that needs a password) —
// is written below, once. Every problem is collected, each naming its dotted path (load.ts adds the
// line). Secret values are never echoed: only keys and references appear in messages.
import { parseTemplate } from '../otp/index.js';
import { validateSchedule } from '../schedule/due.js';
import { isSecretRef } from '../secrets/ref.js';
import { HOST_KEY_FINGERPRINT } from '../transport/sftp/hostkeys.js';
import { riskyPattern } from '../transport/sftp/prompts.js';
import {
  didYouMean,
  formatPath,
  isObj,
  type Obj,
  type Path,
  type Problem,
  Reader,
  show,
  typeName,
} from './field.js';
import {
  ACCOUNT_FIELDS,
  AUTH_METHODS,
  DEFAULTS,
  defaultTemplate,
  HOOK_FIELDS,
  JOB_FIELDS,
  NAME_RE,
  NOTIFY_FIELDS,
  OTP_FIELDS,
  PROMPT_FIELDS,
  PROTOCOLS,
  RETENTION_FIELDS,
  TOP_FIELDS,
  TRUST_FIELDS,
  VAULT_FIELDS,
} from './tables.js';
import type {
  Account,
  Config,
  Hooks,
  Job,
  Notify,
  OtpSettings,
  PromptRule,
  SftpAuthMethod,
  TrustSettings,
} from './types.js';
import { defaultPort } from './url.js';

export * from './tables.js';
export { defaultPort, didYouMean, formatPath, type Path, type Problem };

function template(
  r: Reader,
  v: string | undefined,
  path: Path,
): ReturnType<typeof parseTemplate> | undefined {
  if (v === undefined) return undefined;
  try {
    return parseTemplate(v);
  } catch (e) {
    r.add(path, stripField((e as Error).message));
    return undefined;
  }
}

/** Errors from other modules may start with "field: "; we add our own path. */
function stripField(message: string): string {
  return message.replace(/^[\w.[\]-]+: /, '');
}

const HOST_KEY_RE = HOST_KEY_FINGERPRINT;
const TLS_FP_RE = /^SHA256:(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/;

function readOtp(r: Reader, v: unknown, path: Path): OtpSettings | undefined {
  const F = OTP_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const d = DEFAULTS.otp;
  const type = r.field(o, 'type', F.type, path) ?? d.type;
  const secret = r.field(o, 'secret', F.secret, path);
  if ((type === 'totp' || type === 'hotp') && o.secret == null) {
    r.add(
      [...path, 'secret'],
      `required for type ${type} (a reference to the Base32 seed or otpauth:// URI)`,
    );
  }
  const cmd = r.field(o, 'command', F.command, path);
  if (type === 'command' && o.command == null) r.add([...path, 'command'], 'required for type command');
  const period = r.field(o, 'period', F.period, path) ?? d.period;
  const otp: OtpSettings = {
    type,
    algorithm: r.field(o, 'algorithm', F.algorithm, path) ?? d.algorithm,
    digits: r.field(o, 'digits', F.digits, path) ?? d.digits,
    period,
    t0: r.field(o, 't0', F.t0, path) ?? d.t0,
    reuse: r.field(o, 'reuse', F.reuse, path) ?? d.reuse,
    // Below the period: a margin as long as the step would wait forever.
    marginSeconds:
      r.field(o, 'marginSeconds', F.marginSeconds, path, { max: Math.max(0, period - 1) }) ?? d.marginSeconds,
  };
  if (otp.marginSeconds >= period) otp.marginSeconds = 0;
  if (secret !== undefined) otp.secret = secret;
  const counter = r.field(o, 'counter', F.counter, path);
  if (counter !== undefined) otp.counter = counter;
  else if (type === 'hotp') otp.counter = 0;
  if (cmd) otp.command = cmd;
  return otp;
}

function readTrust(r: Reader, v: unknown, path: Path): TrustSettings {
  const F = TRUST_FIELDS;
  const o = r.section(v, path, F) ?? {};
  const t: TrustSettings = {};
  const hostKeys = r.field(o, 'hostKeys', F.hostKeys, path);
  hostKeys?.forEach((k, i) => {
    if (!HOST_KEY_RE.test(k)) {
      r.add(
        [...path, 'hostKeys', i],
        `expected an SSH fingerprint "SHA256:" + 43 base64 characters, got "${k}"`,
      );
    }
  });
  if (hostKeys) t.hostKeys = hostKeys;
  const knownHosts = r.field(o, 'knownHosts', F.knownHosts, path);
  if (knownHosts) t.knownHosts = knownHosts;
  const ca = r.field(o, 'ca', F.ca, path);
  if (ca) t.ca = ca;
  const fps = r.field(o, 'tlsFingerprints', F.tlsFingerprints, path);
  fps?.forEach((k, i) => {
    if (!TLS_FP_RE.test(k)) {
      r.add([...path, 'tlsFingerprints', i], `expected "SHA256:AA:BB:..." (32 hex pairs), got "${k}"`);
    }
  });
  if (fps) t.tlsFingerprints = fps;
  const skip = r.field(o, 'insecureSkipVerify', F.insecureSkipVerify, path);
  if (skip !== undefined) t.insecureSkipVerify = skip;
  return t;
}

function readPrompts(r: Reader, o: Obj, path: Path): PromptRule[] | undefined {
  const v = o.prompts;
  if (v === undefined || v === null) return undefined;
  const p = [...path, 'prompts'];
  if (!Array.isArray(v)) {
    r.add(p, `expected a list of {pattern, answer}, got ${typeName(v)}`);
    return undefined;
  }
  const rules: PromptRule[] = [];
  v.forEach((item, i) => {
    const ip = [...p, i];
    const io = r.section(item, ip, PROMPT_FIELDS);
    if (!io) return;
    const pattern = r.field(io, 'pattern', PROMPT_FIELDS.pattern, ip);
    const answer = r.field(io, 'answer', PROMPT_FIELDS.answer, ip);
    if (pattern !== undefined) {
      try {
        new RegExp(pattern, 'i');
        const slow = riskyPattern(pattern);
        if (slow) r.add([...ip, 'pattern'], slow);
      } catch (e) {
        r.add([...ip, 'pattern'], `invalid regular expression: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    template(r, answer, [...ip, 'answer']);
    if (pattern !== undefined && answer !== undefined) rules.push({ pattern, answer });
  });
  return rules;
}

function readAccount(r: Reader, v: unknown, path: Path, name: string): Account | undefined {
  const F = ACCOUNT_FIELDS;
  const start = r.problems.length;
  if (!NAME_RE.test(name)) {
    r.add(path, 'account names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  }
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const protocol = r.field(o, 'protocol', F.protocol, path);
  if (o.protocol == null) r.add([...path, 'protocol'], `required: one of ${PROTOCOLS.join(', ')}`);
  const host = r.field(o, 'host', F.host, path);
  if (host && /[\s/@]/.test(host)) r.add([...path, 'host'], `expected a host name or address, got "${host}"`);
  const port = r.field(o, 'port', F.port, path);
  const user = r.field(o, 'user', F.user, path);
  const remoteDir = r.field(o, 'remoteDir', F.remoteDir, path) ?? DEFAULTS.remoteDir;
  const password = r.field(o, 'password', F.password, path);
  const hasPassword = o.password != null;
  const tpl = r.field(o, 'template', F.template, path) ?? defaultTemplate(hasPassword);
  const parsed = template(r, tpl, [...path, 'template']);
  if (parsed?.usesPassword && !hasPassword) {
    r.add([...path, 'template'], 'uses ${PASSWORD} but the account has no "password" reference');
  }
  if (o.otp == null) r.add([...path, 'otp'], 'required: the one-time password settings (type, secret, ...)');
  const otp = o.otp == null ? undefined : readOtp(r, o.otp, [...path, 'otp']);
  if (parsed && !parsed.usesCode) {
    // Not an error for SFTP, where keyboard-interactive prompts may ask for the code separately.
    if (protocol !== 'sftp')
      r.add([...path, 'template'], 'does not contain the code (${TOTP}, ${OTP} or ${HOTP})');
  }
  const authMethods = r.strList(o, 'authMethods', path, true);
  authMethods?.forEach((m, i) => {
    if (!(AUTH_METHODS as readonly string[]).includes(m)) {
      r.add([...path, 'authMethods', i], `expected one of ${AUTH_METHODS.join(', ')}, got "${m}"`);
    }
  });
  if (authMethods && protocol && protocol !== 'sftp') r.add([...path, 'authMethods'], 'only applies to sftp');
  const privateKey = r.field(o, 'privateKey', F.privateKey, path);
  const privateKeyPassphrase = r.field(o, 'privateKeyPassphrase', F.privateKeyPassphrase, path);
  const prompts = readPrompts(r, o, path);
  const trust = readTrust(r, o.trust, [...path, 'trust']);
  const timeout = r.field(o, 'timeout', F.timeout, path);
  const connections = r.field(o, 'connections', F.connections, path);
  if (connections !== undefined && protocol === 'sftp')
    r.add([...path, 'connections'], 'only applies to ftp, ftps and ftps-implicit');
  const connectTimeout = r.field(o, 'connectTimeout', F.connectTimeout, path);
  const retries = r.field(o, 'retries', F.retries, path);
  const bwlimit = r.field(o, 'bwlimit', F.bwlimit, path);
  if (r.problems.length > start || !protocol || !host || !user || !otp) return undefined;
  const a: Account = {
    name,
    protocol,
    host,
    port: port ?? defaultPort(protocol),
    user,
    remoteDir,
    template: tpl,
    otp,
    trust,
  };
  if (password) a.password = password;
  if (authMethods) a.authMethods = authMethods as SftpAuthMethod[];
  if (privateKey) a.privateKey = privateKey;
  if (privateKeyPassphrase) a.privateKeyPassphrase = privateKeyPassphrase;
  if (prompts) a.prompts = prompts;
  if (timeout !== undefined) a.timeout = timeout;
  if (connections !== undefined) a.connections = connections;
  if (connectTimeout !== undefined) a.connectTimeout = connectTimeout;
  if (retries !== undefined) a.retries = retries;
  if (bwlimit) a.bwlimit = bwlimit;
  return a;
}

function readHooks(r: Reader, v: unknown, path: Path): Hooks | undefined {
  const F = HOOK_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const h: Hooks = {};
  for (const k of ['before', 'after', 'onFailure'] as const) {
    const argv = r.field(o, k, F[k], path);
    if (argv) h[k] = argv;
  }
  const timeout = r.field(o, 'timeout', F.timeout, path);
  if (timeout !== undefined) h.timeout = timeout;
  return h;
}

function readNotify(r: Reader, v: unknown, path: Path): Notify | undefined {
  const F = NOTIFY_FIELDS;
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const url = r.field(o, 'url', F.url, path);
  if (url === undefined) return undefined;
  if (!isSecretRef(url) && !/^https?:\/\/[^\s]+$/i.test(url))
    r.add([...path, 'url'], 'expected an http(s):// URL or a secret reference such as env:HEALTHCHECK_URL');
  const n: Notify = { url };
  for (const k of ['start', 'success', 'failure'] as const) {
    const t = r.field(o, k, F[k], path);
    if (t !== undefined) {
      if (!t.includes('{url}') && !/^https?:\/\//i.test(t))
        r.add([...path, k], 'expected a URL, or a template with {url} such as "{url}/fail"');
      n[k] = t;
    }
  }
  const timeout = r.field(o, 'timeout', F.timeout, path);
  if (timeout !== undefined) n.timeout = timeout;
  return n;
}

function readJob(r: Reader, v: unknown, path: Path, name: string, accounts: Obj): Job | undefined {
  const F = JOB_FIELDS;
  const start = r.problems.length;
  if (!NAME_RE.test(name))
    r.add(path, 'job names may use letters, digits, ".", "_" and "-" (at most 64)', true);
  const o = r.section(v, path, F);
  if (!o) return undefined;
  const account = r.field(o, 'account', F.account, path);
  if (account && !Object.hasOwn(accounts, account)) {
    const near = didYouMean(account, Object.keys(accounts));
    r.add([...path, 'account'], `no account "${account}"${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  const sources = r.strList(o, 'sources', path, true);
  if (o.sources == null || sources?.length === 0) r.add([...path, 'sources'], 'required: at least one path');
  const d = DEFAULTS.job;
  const schedule = r.field(o, 'schedule', F.schedule, path) ?? d.schedule;
  const timezone = r.field(o, 'timezone', F.timezone, path);
  try {
    validateSchedule(schedule, timezone, { field: formatPath([...path, 'schedule']) });
  } catch (e) {
    const m = (e as Error).message;
    const field = /^[\w.[\]-]*timezone: /.test(m) ? 'timezone' : 'schedule';
    r.add([...path, field], stripField(m));
  }
  const job: Job = {
    name,
    account: account ?? '',
    sources: sources ?? [],
    remoteDir: r.field(o, 'remoteDir', F.remoteDir, path) ?? name,
    schedule,
    symlinks: r.field(o, 'symlinks', F.symlinks, path) ?? d.symlinks,
    mode: r.field(o, 'mode', F.mode, path) ?? d.mode,
    delete: r.field(o, 'delete', F.delete, path) ?? d.delete,
    checksum: r.field(o, 'checksum', F.checksum, path) ?? d.checksum,
  };
  const include = r.field(o, 'include', F.include, path);
  if (include) job.include = include;
  const exclude = r.field(o, 'exclude', F.exclude, path);
  if (exclude) job.exclude = exclude;
  if (timezone) job.timezone = timezone;
  if (o.hooks != null) {
    const h = readHooks(r, o.hooks, [...path, 'hooks']);
    if (h) job.hooks = h;
  }
  if (o.notify != null) {
    const n = readNotify(r, o.notify, [...path, 'notify']);
    if (n) job.notify = n;
  }

  const bwlimit = r.field(o, 'bwlimit', F.bwlimit, path);
  if (bwlimit !== undefined) job.bwlimit = bwlimit;
  if (r.field(o, 'copyFirst', F.copyFirst, path)) job.copyFirst = true;
  if (o.retention != null) {
    const rp = [...path, 'retention'];
    const RF = RETENTION_FIELDS;
    const ro = r.section(o.retention, rp, RF);
    if (ro) {
      const keep = r.field(ro, 'keep', RF.keep, rp);
      const days = r.field(ro, 'days', RF.days, rp);
      job.retention = {};
      if (keep !== undefined) job.retention.keep = keep;
      if (days !== undefined) job.retention.days = days;
    }
  }
  return r.problems.length > start ? undefined : job;
}

/** Validates and normalises a parsed YAML value. Returns the config or the list of problems. */
export function validate(raw: unknown, path: string): { config: Config; problems: Problem[] } {
  const r = new Reader();
  const config: Config = { path, accounts: {}, jobs: {} };
  const top = r.section(raw, [], TOP_FIELDS) ?? {};
  if (top.version != null && top.version !== 1) {
    r.add(['version'], `unsupported config version ${show(top.version)}; this otpbackup reads version 1`);
  }
  if (top.vault != null) {
    const vo = r.section(top.vault, ['vault'], VAULT_FIELDS);
    if (vo) {
      const vault: NonNullable<Config['vault']> = {};
      const p = r.field(vo, 'path', VAULT_FIELDS.path, ['vault']);
      if (p) vault.path = p;
      const cmd = r.field(vo, 'passphraseCommand', VAULT_FIELDS.passphraseCommand, ['vault']);
      if (cmd) vault.passphraseCommand = cmd;
      config.vault = vault;
    }
  }
  if (top.hooks != null) {
    const h = readHooks(r, top.hooks, ['hooks']);
    if (h) config.hooks = h;
  }
  if (top.notify != null) {
    const n = readNotify(r, top.notify, ['notify']);
    if (n) config.notify = n;
  }
  const accounts =
    r.obj(top.accounts, ['accounts'], Object.keys(isObj(top.accounts) ? top.accounts : {})) ?? {};
  for (const [name, v] of Object.entries(accounts)) {
    const a = readAccount(r, v, ['accounts', name], name);
    if (a) config.accounts[name] = a;
  }
  const jobs = r.obj(top.jobs, ['jobs'], Object.keys(isObj(top.jobs) ? top.jobs : {})) ?? {};
  for (const [name, v] of Object.entries(jobs)) {
    const j = readJob(r, v, ['jobs', name], name, accounts);
    if (j) config.jobs[name] = j;
  }
  return { config, problems: r.problems };
}
