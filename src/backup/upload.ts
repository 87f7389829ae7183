// `otpbackup upload`: a one-shot upload for CI pipelines. An ephemeral Account (secrets only as env:
// references, so the normal resolveSecret path and login discipline apply) and an ephemeral Job run
// through runJob with a manifest in a temp dir: every file is uploaded, nothing is remembered.

import { createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DEFAULTS, defaultTemplate } from '../config/schema.js';
import { writeFileAtomic } from '../config/state-file.js';
import type { Account, Algorithm, Config, Job, PromptRule } from '../config/types.js';
import { parseTargetUrl } from '../config/url.js';
import { OtpBackupError, usageError } from '../errors.js';
import { checkAlgorithm, checkDigits, checkPeriod, parseOtpauthUri, parseTemplate } from '../otp/index.js';
import { makeFilter, type PathFilter } from '../scan/filters.js';
import { sha256File } from '../scan/hash.js';
import { Manifest } from '../scan/manifest.js';
import { carriesRawNames } from '../scan/raw-name.js';
import { metaOf, sourcePathOf, sourceRoots } from '../scan/scan.js';
import type { FileMeta } from '../scan/types.js';
import type { Clock } from '../schedule/clock.js';
import { envFlagValue } from '../secrets/env.js';
import { registerSecret } from '../secrets/redact.js';
import type { BandwidthLimiter } from '../transport/bwlimit.js';
import type { CredentialSource, Transport } from '../transport/index.js';
import { isTempName } from '../transport/remote-path.js';
import { riskyPattern } from '../transport/sftp/prompts.js';
import { canHash, canTellMtime } from '../transport/types.js';
import type { Reporter } from '../ui/reporter.js';
import { jobRemoteRoot, runJob } from './engine.js';
import type { JobResult } from './types.js';

export const ENV_DEFAULTS = {
  password: 'OTPBACKUP_PASSWORD',
  totpSecret: 'OTPBACKUP_TOTP_SECRET',
  otpauthUri: 'OTPBACKUP_OTPAUTH_URI',
} as const;

export interface TargetOptions {
  to: string;
  passwordEnv?: string;
  totpSecretEnv?: string;
  otpauthUriEnv?: string;
  algorithm?: string;
  digits?: string;
  period?: string;
  hotpCounterFile?: string;
  template?: string;
  prompt?: string[];
  key?: string;
  hostKey?: string[];
  knownHosts?: string[];
  ca?: string;
  tlsFingerprint?: string[];
  otpReuse?: string;
  connections?: string;
}

const isSet = (env: NodeJS.ProcessEnv, name: string) => Boolean(env[name]);
/** Our own variable names, which an error may print (a name the user gave may be a pasted value). */
const OURS = (): string[] => Object.values(ENV_DEFAULTS);

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usageError(`${flag}: expected a whole number, got "${v}"`);
  return Number(v);
}

/**
 * `--connections N` (FTP only, 1–16) over an account's own setting; undefined leaves the account's.
 * Throws a usage error naming the flag for anything else.
 */
export function withConnectionsFlag(account: Account, v: string | undefined): Account {
  const n = intFlag('--connections', v);
  if (n === undefined) return account;
  if (n < 1 || n > 16) throw usageError(`--connections: expected 1 to 16, got ${n}`);
  if (account.protocol === 'sftp')
    throw usageError('--connections only applies to ftp://, ftpes:// and ftps:// targets');
  return { ...account, connections: n };
}

/** `REGEX=TEMPLATE`; split at the last "=" since templates never contain one but regexes may. */
export function parsePromptRule(text: string): PromptRule {
  const i = text.lastIndexOf('=');
  if (i <= 0 || i === text.length - 1)
    throw usageError(`--prompt: expected REGEX=TEMPLATE, got "${text}"`, "e.g. --prompt 'code=${TOTP}'");
  const pattern = text.slice(0, i);
  const answer = text.slice(i + 1);
  try {
    new RegExp(pattern, 'i');
  } catch {
    throw usageError(`--prompt: "${pattern}" is not a valid regular expression`);
  }
  const risky = riskyPattern(pattern); // catastrophic backtracking against a server's prompt
  if (risky) throw usageError(`--prompt: the pattern ${risky}`);
  parseTemplate(answer);
  return { pattern, answer };
}

/**
 * The Account for `--to URL`, with env: references only. Presence of the variables is checked here so
 * that a missing one is reported (exit 2, naming it) before any connection is made.
 */
export function accountFromTarget(o: TargetOptions, env: NodeJS.ProcessEnv): Account {
  const target = parseTargetUrl(o.to, '--to');
  // "." for a URL without a path: the login directory (see url.ts for each scheme's rule).
  const remoteDir = target.remoteDir;

  // An explicit --password-env must be set; the default variable is optional.
  const pwVar = o.passwordEnv ?? ENV_DEFAULTS.password;
  if (o.passwordEnv) envFlagValue(env, '--password-env', pwVar, OURS());
  const hasPassword = isSet(env, pwVar);

  if (o.totpSecretEnv && o.otpauthUriEnv)
    throw usageError('use either --totp-secret-env or --otpauth-uri-env');
  let seedVar: string;
  let isUri: boolean;
  if (o.totpSecretEnv) [seedVar, isUri] = [o.totpSecretEnv, false];
  else if (o.otpauthUriEnv) [seedVar, isUri] = [o.otpauthUriEnv, true];
  else if (isSet(env, ENV_DEFAULTS.totpSecret)) [seedVar, isUri] = [ENV_DEFAULTS.totpSecret, false];
  else if (isSet(env, ENV_DEFAULTS.otpauthUri)) [seedVar, isUri] = [ENV_DEFAULTS.otpauthUri, true];
  else {
    throw new OtpBackupError(
      'secret',
      `the one-time password seed is missing: neither ${ENV_DEFAULTS.totpSecret} nor ${ENV_DEFAULTS.otpauthUri} is set`,
      {
        hint: 'export one of them, or name your variable with --totp-secret-env VAR / --otpauth-uri-env VAR',
      },
    );
  }
  envFlagValue(env, isUri ? '--otpauth-uri-env' : '--totp-secret-env', seedVar, OURS());

  let type: 'totp' | 'hotp' = o.hotpCounterFile ? 'hotp' : 'totp';
  let algorithm: Algorithm = DEFAULTS.otp.algorithm;
  let digits: number = DEFAULTS.otp.digits;
  let period: number = DEFAULTS.otp.period;
  if (isUri) {
    // The URI decides the kind and parameters; the credential source re-reads them from the secret.
    const text = String(env[seedVar]).trim();
    registerSecret(text);
    const info = parseOtpauthUri(text);
    type = info.type;
    ({ algorithm, digits, period } = info);
    if (type === 'hotp' && !o.hotpCounterFile)
      throw usageError(
        `${seedVar} holds an HOTP URI but --hotp-counter-file is missing`,
        'pass --hotp-counter-file FILE: the counter must survive between runs',
      );
  }
  if (o.algorithm) algorithm = checkAlgorithm(o.algorithm, '--algorithm');
  const d = intFlag('--digits', o.digits);
  if (d !== undefined) digits = checkDigits(d, '--digits');
  const p = intFlag('--period', o.period);
  if (p !== undefined) period = checkPeriod(p, '--period');
  if (o.otpReuse !== undefined && o.otpReuse !== 'allow' && o.otpReuse !== 'forbid')
    throw usageError(`--otp-reuse: expected allow or forbid, got "${o.otpReuse}"`);

  const sftp = target.protocol === 'sftp';
  const ftps = target.protocol === 'ftps' || target.protocol === 'ftps-implicit';
  if (!sftp) {
    for (const [flag, v] of [
      ['--prompt', o.prompt?.length],
      ['--key', o.key],
      ['--host-key', o.hostKey?.length],
      ['--known-hosts', o.knownHosts?.length],
    ] as const)
      if (v) throw usageError(`${flag} only applies to sftp:// targets`);
  }
  if (!ftps) {
    for (const [flag, v] of [
      ['--ca', o.ca],
      ['--tls-fingerprint', o.tlsFingerprint?.length],
    ] as const)
      if (v) throw usageError(`${flag} only applies to ftpes:// and ftps:// targets`);
  }

  // Distinct per target, so the spent-step record (login state) is shared by runs against one server.
  const name = `upload-${target.user}@${target.host}:${target.port}`;
  const account: Account = {
    name,
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    user: target.user,
    remoteDir,
    // ${TOTP} only expands for TOTP accounts; an HOTP one gets the same shape with ${OTP}.
    template:
      o.template ??
      (type === 'hotp'
        ? defaultTemplate(hasPassword).replace('${TOTP}', '${OTP}')
        : defaultTemplate(hasPassword)),
    otp: {
      ...DEFAULTS.otp,
      type,
      secret: `env:${seedVar}`,
      algorithm,
      digits,
      period,
      reuse: o.otpReuse === 'allow' ? 'allow' : 'forbid',
    },
    trust: {},
  };
  if (hasPassword) account.password = `env:${pwVar}`;
  parseTemplate(account.template);
  if (o.prompt?.length) account.prompts = o.prompt.map(parsePromptRule);
  if (o.key) {
    account.privateKey = o.key;
    account.authMethods = ['publickey', 'keyboard-interactive'];
  }
  if (o.hostKey?.length) account.trust.hostKeys = o.hostKey;
  if (o.knownHosts?.length) account.trust.knownHosts = o.knownHosts;
  if (o.ca) account.trust.ca = o.ca;
  if (o.tlsFingerprint?.length) account.trust.tlsFingerprints = o.tlsFingerprint;
  return withConnectionsFlag(account, o.connections);
}

/** Reads the HOTP counter file: one non-negative integer; a missing file means 0. */
export async function readCounterFile(path: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new OtpBackupError(
      'local',
      `--hotp-counter-file: cannot read ${path} (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  const t = text.trim();
  if (!/^\d+$/.test(t))
    throw usageError(
      `--hotp-counter-file: ${path} does not hold a counter`,
      'it must contain one whole number',
    );
  return Number(t);
}

/**
 * HOTP with --hotp-counter-file: the file is the only record of the counter. Each next() takes the
 * file's value and writes value+1 back (atomically) BEFORE the code is handed out, so a crash can
 * skip a counter value (HOTP servers accept a look-ahead window) but never reuse one.
 */
export function counterFileSource(
  make: (counter: number) => CredentialSource,
  path: string,
): CredentialSource {
  let inner: CredentialSource | undefined;
  return {
    async next(signal) {
      const counter = await readCounterFile(path);
      inner = make(counter);
      const c = await inner.next(signal);
      await writeFileAtomic(path, `${(c.counter ?? counter) + 1}\n`);
      return c;
    },
    failed: (reason) => inner?.failed(reason) ?? Promise.resolve(),
    succeeded: () => inner?.succeeded() ?? Promise.resolve(),
  };
}

export interface UploadSpec {
  sources: string[];
  exclude?: string[];
  /** gitignore patterns: only matching files are sent (directories are still entered). */
  include?: string[];
  /** Send only files that are new or differ from the server's copy (size and mtime, or hash). */
  sync?: boolean;
  /** With sync: compare content by the server's SHA-256 instead of mtime (where it offers one). */
  checksum?: boolean;
  /** Remote directory (relative to the account's, or absolute). */
  remoteDir?: string;
  delete?: boolean;
  force?: boolean;
  dryRun?: boolean;
}

export interface UploadDeps {
  clock: Clock;
  cwd: string;
  reporter?: Reporter;
  /** Creates the transport and logs in. */
  connect(account: Account): Promise<Transport>;
  /** --bwlimit (or the account's bwlimit): paces every upload. */
  limiter?: BandwidthLimiter;
}

export interface UploadResult {
  files: number;
  bytes: number;
  deleted: number;
  failed: { path: string; reason: string }[];
  durationMs: number;
  skipped: number;
  /** With sync: files the server already had as they are here. */
  unchanged: number;
  dryRun?: boolean;
  plan?: { upload: string[]; delete: string[] };
  error?: JobResult['error'];
}

interface RemoteFileInfo {
  rel: string;
  path: string;
  size: number;
  mtime?: Date;
}

/**
 * `upload --sync`: whether the server's copy is the local file as it is now. otpbackup sets every
 * upload's mtime (MFMT / SETSTAT), so size and mtime to the second decide, as rclone's default
 * check; with `checksum` the server's SHA-256 does. A server that cannot keep mtimes (FTP without
 * MFMT) is compared by size, like rclone on such backends. Returns the local metadata to record
 * (so the scan sees the file unchanged), or undefined when the file is to be sent.
 */
async function sameAsLocal(
  f: RemoteFileInfo,
  local: string | undefined,
  how: { t: Transport; checksum: boolean; keepsMtime: boolean },
): Promise<FileMeta | undefined> {
  if (!local) return undefined;
  let st: import('node:fs').BigIntStats;
  try {
    st = await lstat(local, { bigint: true });
  } catch {
    return undefined;
  }
  if (!st.isFile() || Number(st.size) !== f.size) return undefined;
  if (how.checksum && canHash(how.t)) {
    const remote = await how.t.hash(f.path, 'sha256');
    if (remote !== undefined) return remote === (await sha256File(local)) ? metaOf(st) : undefined;
  }
  if (!how.keepsMtime) return metaOf(st);
  const localSec = Math.floor(Number(st.mtimeNs / 1_000_000n) / 1000);
  return f.mtime && Math.floor(f.mtime.getTime() / 1000) === localSec ? metaOf(st) : undefined;
}

/**
 * Every regular file below root (relative paths), skipping our temp names, .versions, and what
 * --exclude matches: like rsync --delete, excluded remote files are left alone.
 */
async function remoteFiles(t: Transport, root: string, filter: PathFilter): Promise<RemoteFileInfo[]> {
  const out: RemoteFileInfo[] = [];
  // Relative paths are built from names: the root may itself be relative (the login directory).
  const walk = async (dir: string, prefix: string) => {
    for (const e of await t.list(dir)) {
      if (e.name === '.' || e.name === '..' || isTempName(e.name)) continue;
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.type === 'dir') {
        if (rel !== '.versions' && !filter.skipDir(rel)) await walk(posix.join(dir, e.name), rel);
      } else if (e.type === 'file' && !filter.skipFile(rel))
        out.push({
          rel,
          path: posix.join(dir, e.name),
          size: e.size,
          ...(e.mtime ? { mtime: e.mtime } : {}),
        });
    }
  };
  if (await t.stat(root)) await walk(root, '');
  return out;
}

export async function upload(account: Account, spec: UploadSpec, deps: UploadDeps): Promise<UploadResult> {
  const job: Job = {
    name: 'upload',
    account: account.name,
    sources: spec.sources,
    exclude: spec.exclude ?? [],
    ...(spec.include?.length ? { include: spec.include } : {}),
    remoteDir: spec.remoteDir ?? '.',
    schedule: '@daily',
    symlinks: 'skip',
    mode: 'mirror',
    delete: Boolean(spec.delete),
    checksum: false,
  };
  const remoteRoot = jobRemoteRoot(account.remoteDir, job.remoteDir);
  const dir = await mkdtemp(join(tmpdir(), 'otpbackup-upload-'));
  let transport: Transport | undefined;
  try {
    const manifest = await Manifest.load(dir);
    try {
      // A plain dry run needs no login: with an empty manifest every file is to be uploaded.
      if (!spec.dryRun || spec.delete || spec.sync) transport = await deps.connect(account);
      if ((spec.delete || spec.sync) && transport) {
        // What is on the server stands in for the manifest. A file the server holds as it is here
        // gets its real local metadata (the scan calls it unchanged: not sent); every other one a
        // fake entry (changed: sent). Files missing locally are deleted with --delete (under the
        // engine's cap).
        const roots = sourceRoots({ ...job, name: job.name }, deps.cwd);
        const localOf = sourcePathOf(roots);
        const t = transport;
        const how = {
          t,
          checksum: Boolean(spec.checksum && canHash(t) && t.hashAlgorithms().includes('sha256')),
          keepsMtime: !canTellMtime(t) || t.keepsMtime(),
        };
        if (spec.checksum && !how.checksum)
          deps.reporter?.info('the server offers no SHA-256: --checksum compares size and mtime instead');
        for (const f of await remoteFiles(t, remoteRoot, makeFilter(job.include ?? [], job.exclude ?? []))) {
          const same = spec.sync ? await sameAsLocal(f, localOf(f.rel), how) : undefined;
          manifest.record(f.rel, same ?? { size: f.size, mtimeNs: '0', ctimeNs: '0', ino: '0' });
        }
      }
      const r = await runJob(job, {
        ...(transport ? { transport } : {}),
        manifest,
        clock: deps.clock,
        ...(deps.reporter ? { reporter: deps.reporter } : {}),
        remoteRoot,
        force: spec.force,
        // --force is about the delete cap here; --sync decides what is sent.
        sendAll: !spec.sync,
        dryRun: spec.dryRun,
        cwd: deps.cwd,
        tempTag: uploadTempTag(account, remoteRoot),
        ...(deps.limiter ? { limiter: deps.limiter } : {}),
        rawNames: carriesRawNames(account.protocol),
      });
      const result: UploadResult = {
        files: r.files,
        bytes: r.bytes,
        deleted: r.deleted,
        failed: r.failed,
        durationMs: r.durationMs,
        skipped: r.skipped,
        unchanged: spec.sync ? r.unchanged : 0,
      };
      if (spec.dryRun) {
        result.dryRun = true;
        if (r.plan) result.plan = r.plan;
      }
      if (r.error) result.error = r.error;
      return result;
    } finally {
      manifest.close();
    }
  } finally {
    await transport?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The temp tag of `upload` to a target: its state is thrown away after each run, so the tag comes
 * from the target itself. A later upload to the same place then sweeps what a killed one left.
 */
export function uploadTempTag(account: Account, remoteRoot: string): string {
  const id = ['otpbackup upload', account.protocol, account.host, account.port, account.user, remoteRoot];
  return createHash('sha256').update(id.join('\0')).digest('hex').slice(0, 12);
}

/** Account from the config for `--account NAME`. */
export function configAccount(config: Config, name: string): Account {
  const a = config.accounts[name];
  if (!a) {
    const known = Object.keys(config.accounts);
    throw usageError(
      `--account: no account named "${name}" in ${config.path}`,
      known.length
        ? `known accounts: ${known.join(', ')}`
        : 'add one with `otpbackup account add`, or use --to URL',
    );
  }
  return a;
}
