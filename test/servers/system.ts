// What the stock-daemon harnesses (sshd.ts, vsftpd.ts) share: real system users (OpenSSH and vsftpd
// log in local accounts through PAM, there are no virtual users), PAM service files in /etc/pam.d, a
// google-authenticator secret file, and stopping a daemon with all of its session processes.
//
// Everything created here is tagged with the pid of the test process that made it (the user's GECOS
// field, the PAM file's name), so a later start can remove what a crashed run left behind without
// touching what a parallel test file still uses. Root only: CI runs as root.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeBase32 } from '../../src/otp/index.js';
import { alive } from './proftpd.js';

const run = promisify(execFile);
const TAG = 'otpbackup-test pid=';
export const PAM_DIR = '/etc/pam.d';
/** Debian's libpam-google-authenticator. */
export const PAM_GOOGLE = '/lib/x86_64-linux-gnu/security/pam_google_authenticator.so';
/** Prefix of every PAM service file the harnesses write (followed by "<kind>-<pid>-<hex>"). */
export const PAM_PREFIX = 'otpbackup-test-';

export interface SystemUser {
  name: string;
  password: string;
  uid: number;
  gid: number;
  /** Absolute home directory (not chrooted by sshd: the SFTP path of a file is its local path). */
  home: string;
}

/** Why system users cannot be made here (not root, no useradd), or undefined. */
export function systemUsersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (useradd, /etc/pam.d)';
  return undefined;
}

/** Base32 seed as Google Authenticator writes it (RFC 4648, no padding). */
export function newSeed(): string {
  return encodeBase32(randomBytes(20));
}

/** A random tag for names: lower-case hex, valid in user names and file names. */
export const tag = (bytes = 3) => randomBytes(bytes).toString('hex');

async function retryLocked<T>(f: () => Promise<T>): Promise<T> {
  // useradd/userdel of parallel test files contend for the /etc/passwd lock.
  for (let i = 0; ; i++) {
    try {
      return await f();
    } catch (e) {
      const text = String((e as { stderr?: string }).stderr ?? e);
      if (i >= 20 || !/lock|try again/i.test(text)) throw e;
      await new Promise((r) => setTimeout(r, 100 + 50 * i));
    }
  }
}

/** A local user with a home under `homeRoot`, a random password, shell /bin/sh (sshd runs the
 * sftp-server subsystem through the login shell). */
export async function addUser(name: string, homeRoot: string): Promise<SystemUser> {
  const home = join(homeRoot, name);
  const password = randomBytes(9).toString('base64url');
  await retryLocked(() =>
    run('useradd', ['-m', '-d', home, '-s', '/bin/sh', '-U', '-c', `${TAG}${process.pid}`, name]),
  );
  // chpasswd reads "user:password" on stdin: never in argv.
  await retryLocked(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = execFile('chpasswd', [], (err, _o, stderr) =>
          err ? reject(Object.assign(err, { stderr })) : resolve(),
        );
        child.stdin?.end(`${name}:${password}\n`);
      }),
  );
  const { stdout } = await run('id', ['-u', name]);
  const { stdout: g } = await run('id', ['-g', name]);
  return { name, password, uid: Number(stdout.trim()), gid: Number(g.trim()), home };
}

/** Removes the user, its group and its home. Its processes must have ended (see stopTree). */
export async function removeUser(name: string): Promise<void> {
  await retryLocked(() => run('userdel', ['-r', '-f', name])).catch((e) => {
    // 6: no such user (already removed); 12: home could not be removed (already gone).
    const code = (e as { code?: number }).code;
    if (code !== 6 && code !== 12) throw e;
  });
}

export interface GoogleAuthOptions {
  /** `" DISALLOW_REUSE"`: a code that logged in is refused for the rest of its step. */
  disallowReuse?: boolean;
  /** `" RATE_LIMIT n s"`: at most n login attempts per s seconds. */
  rateLimit?: [number, number];
  /** `" WINDOW_SIZE n"`: codes of n steps around now are accepted (the tool's default is 3). */
  windowSize?: number;
}

/** ~/.google_authenticator as `google-authenticator -t [-d] [-r n -R s] -w 3` writes it (no
 * emergency codes), mode 0400 and owned by the user, as pam_google_authenticator insists. */
export async function writeGoogleAuth(u: SystemUser, seed: string, o: GoogleAuthOptions = {}): Promise<void> {
  const lines = [seed];
  if (o.rateLimit) lines.push(`" RATE_LIMIT ${o.rateLimit[0]} ${o.rateLimit[1]}`);
  lines.push(`" WINDOW_SIZE ${o.windowSize ?? 3}`);
  if (o.disallowReuse) lines.push('" DISALLOW_REUSE');
  lines.push('" TOTP_AUTH');
  const file = join(u.home, '.google_authenticator');
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o400 });
  await chown(file, u.uid, u.gid);
}

/** ~/.ssh/authorized_keys holding `publicKey`, with the modes StrictModes wants. */
export async function authorizeKey(u: SystemUser, publicKey: string): Promise<void> {
  const dir = join(u.home, '.ssh');
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, 'authorized_keys'), publicKey, { mode: 0o600 });
  await chown(dir, u.uid, u.gid);
  await chown(join(dir, 'authorized_keys'), u.uid, u.gid);
}

/** Writes /etc/pam.d/otpbackup-test-<kind>-<pid>-<hex>; returns the service name. */
export async function writePamService(kind: string, body: string): Promise<string> {
  const name = `${PAM_PREFIX}${kind}-${process.pid}-${tag(4)}`;
  await writeFile(
    join(PAM_DIR, name),
    `# Generated by otpbackup's test harness (test/servers/system.ts).\n${body}`,
    {
      mode: 0o644,
    },
  );
  return name;
}

export async function removePamService(name: string): Promise<void> {
  if (!name.startsWith(PAM_PREFIX) || name.includes('/')) throw new Error(`not a test PAM service: ${name}`);
  await rm(join(PAM_DIR, name), { force: true });
}

/** Temp dir prefix of a harness start: "otpbackup-<kind>-<pid>-" (the pid lets sweepStale judge it). */
export const tempPrefix = (kind: 'sshd' | 'vsftpd') => `otpbackup-${kind}-${process.pid}-`;
const TEMP_RE = /^otpbackup-(?:sshd|vsftpd)-(\d+)-/;
// A daemon's command line names its temp dir (config path) or, for sshd, its pid-tagged symlink.
const DAEMON_RE = /otpbackup-(?:sshd|vsftpd)-(\d+)-|otpbackup-test-sshd(?:-plain)?-(\d+)-/;

/**
 * Removes what a crashed or killed test run left: its daemons (orphaned, still listening), its test
 * users and their processes, its PAM files and its temp dirs. Only those whose creating process is
 * gone; a parallel test file's stay.
 */
export async function sweepStale(): Promise<void> {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const m = DAEMON_RE.exec(cmd);
    const owner = Number(m?.[1] ?? m?.[2]);
    if (owner && !alive(owner)) {
      try {
        process.kill(Number(e), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return;
  }
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    const pid = f[4]?.startsWith(TAG) ? Number(f[4].slice(TAG.length)) : 0;
    if (pid && f[0] && !alive(pid)) {
      await killUserProcesses(Number(f[2]));
      await removeUser(f[0]).catch(() => {});
    }
  }
  for (const n of readdirSync(PAM_DIR)) {
    const pid = n.startsWith(PAM_PREFIX) ? Number(/-(\d+)-[0-9a-f]+$/.exec(n)?.[1]) : 0;
    if (pid && !alive(pid)) await rm(join(PAM_DIR, n), { force: true });
  }
  for (const n of readdirSync(tmpdir())) {
    const pid = Number(TEMP_RE.exec(n)?.[1]);
    if (pid && !alive(pid)) await rm(join(tmpdir(), n), { recursive: true, force: true });
  }
}

/** Processes whose real uid is `uid` (Linux /proc). */
async function killUserProcesses(uid: number): Promise<void> {
  if (!Number.isInteger(uid) || uid <= 0) return;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const status = readFileSync(`/proc/${e}/status`, 'utf8');
      if (Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid) process.kill(Number(e), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

/** `pid` and every process below it, parents first (one pass over /proc, Linux only). */
export async function descendants(pid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

export async function waitExit(pids: number[], ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pids.some(alive)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !pids.some(alive);
}

/**
 * Stops a daemon we started (`pid`) and its session processes, by PID: the sessions first while the
 * master can still reap them, SIGTERM, then SIGKILL after a few seconds. (An sshd master leaves its
 * sessions running when it gets SIGTERM; they would keep the test users busy.)
 */
export async function stopTree(pid: number): Promise<void> {
  const kill = (p: number, sig: NodeJS.Signals) => {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  };
  const sessions = await descendants(pid);
  for (const p of sessions) kill(p, 'SIGTERM');
  await waitExit(sessions, 3000);
  kill(pid, 'SIGTERM');
  const all = [pid, ...sessions, ...(await descendants(pid))];
  if (!(await waitExit(all, 5000))) {
    for (const p of all) kill(p, 'SIGKILL');
    await waitExit(all, 2000);
  }
}

/** One readiness probe: the first line the server sends starts with `greeting`. */
export function probeGreeting(port: number, greeting: string): Promise<boolean> {
  return import('node:net').then(
    ({ connect }) =>
      new Promise((resolve) => {
        const sock = connect({ host: '127.0.0.1', port });
        const done = (ok: boolean) => {
          clearTimeout(timer);
          sock.destroy();
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), 2000);
        let buf = '';
        sock.on('data', (d: Buffer) => {
          buf += d.toString('latin1');
          if (buf.includes('\n')) done(buf.startsWith(greeting));
        });
        sock.on('error', () => done(false));
        sock.on('close', () => done(false));
      }),
  );
}
