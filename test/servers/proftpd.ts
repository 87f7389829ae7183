// Real ProFTPD (Debian's proftpd-core 1.3.8 + mod_auth_otp) on loopback for integration tests.
// One proftpd process, one vhost per scenario, everything (config, keys, db, logs, homes) in a
// fresh temp dir. Seeds and passwords are random per start, so nothing here is a real secret.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { freePorts } from './free-port.js';

const run = promisify(execFile);

export const PROFTPD_BIN = '/usr/sbin/proftpd';
export const PROFTPD_MODULES = '/usr/lib/proftpd';

export interface OtpUser {
  name: string;
  password: string;
  /** Base32 seed (RFC 4648, no padding). */
  secret: string;
}
export interface ProftpdHandle {
  /** Temp dir holding config, db, logs, keys, and the users' homes. */
  dir: string;
  /** Directory on local disk where that user's uploads land (the user's chroot). */
  home(user: string): string;
  ports: {
    ftp: number;
    ftps: number;
    ftpsImplicit?: number;
    sftpKbd: number;
    sftpMulti: number;
    hotp: number;
    sha256: number;
    sha512: number;
    /** Password-only twins (no OTP) for tools that cannot compute codes (bench/). */
    ftpPlain: number;
    /** SFTP for users.plain: password or public key (clientKeyPath). */
    sftpPlain: number;
  };
  users: {
    totp: OtpUser;
    /** `counter` is the HOTP counter stored at start; see hotpCounter() for the live value. */
    hotp: OtpUser & { counter: number };
    sha256: OtpUser;
    sha512: OtpUser;
    /** SFTP multi-step: password+keyboard-interactive or publickey+keyboard-interactive. */
    multi: OtpUser;
    /** Password only, no OTP: logs in on ports.ftpPlain / ports.sftpPlain only. */
    plain: { name: string; password: string };
  };
  /** Private key (OpenSSH format, no passphrase) authorised for users.multi and users.plain. */
  clientKeyPath: string;
  /** "SHA256:..." as `ssh-keygen -lf` prints it (the only host key: ed25519). */
  sshHostKeyFingerprint: string;
  /** CA that signed the FTPS certificate for 127.0.0.1. */
  caCertPath: string;
  /** "SHA256:AB:CD:..." of the server certificate. */
  tlsCertFingerprint: string;
  /** Count of refused logins so far, parsed from the server logs. */
  failedLogins(): Promise<number>;
  /** The HOTP counter the server currently expects for users.hotp (read from the db). */
  hotpCounter(): Promise<number>;
  /** Last lines of the system log, for failure messages. */
  logTail(lines?: number): Promise<string>;
  /** PID of the master proftpd process. */
  pid: number;
  /** Kills the proftpd it started (and its session children), by PID; removes dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Keep the temp dir after stop() (for debugging). */
  keepDir?: boolean;
  /** How long to wait for every port to answer; default 20 s. */
  startTimeoutMs?: number;
}

/** Why the real server cannot run here, or undefined when it can. Tests turn this into a skip
 * locally and into a failure when CI=true. */
export function proftpdUnavailable(): string | undefined {
  const need = [
    PROFTPD_BIN,
    join(PROFTPD_MODULES, 'mod_auth_otp.so'),
    join(PROFTPD_MODULES, 'mod_sql_sqlite.so'),
    join(PROFTPD_MODULES, 'mod_sftp.so'),
    join(PROFTPD_MODULES, 'mod_tls.so'),
    '/usr/bin/sqlite3',
    '/usr/bin/openssl',
    '/usr/bin/ssh-keygen',
  ];
  const missing = need.filter((p) => !existsSync(p));
  return missing.length ? `missing ${missing.join(', ')} (see .ci/install-deps.sh)` : undefined;
}

// RFC 4648 Base32 without padding, as Google Authenticator and mod_auth_otp expect.
function base32(buf: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function makeUser(name: string): OtpUser {
  return { name, password: randomBytes(9).toString('base64url'), secret: base32(randomBytes(20)) };
}

// Quote for SQL string literals (values are generated, but keep the SQL valid regardless).
const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface Ids {
  uid: number;
  gid: number;
  asRoot: boolean;
}

// As root, proftpd switches to nobody/nogroup; otherwise it runs as the current user, which
// then also owns the virtual users' files.
function ids(): Ids {
  const asRoot = process.getuid?.() === 0;
  return asRoot
    ? { uid: 65534, gid: 65534, asRoot }
    : { uid: process.getuid?.() ?? 1000, gid: process.getgid?.() ?? 1000, asRoot };
}

export async function makeTls(
  etc: string,
): Promise<{ caCertPath: string; certPath: string; keyPath: string }> {
  const ca = join(etc, 'ca');
  const srv = join(etc, 'server');
  const ext = join(etc, 'server.ext');
  await writeFile(
    ext,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  // EC keys: generated in milliseconds, unlike RSA. (Fixed words split; paths passed whole.)
  const words = (w: string) => w.split(' ');
  const newEc = words('-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes');
  await run('openssl', [
    ...words('req -x509 -days 2'),
    ...newEc,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.crt`,
    '-subj',
    '/CN=otpbackup test CA',
  ]);
  await run('openssl', [
    ...words('req -new'),
    ...newEc,
    '-keyout',
    `${srv}.key`,
    '-out',
    `${srv}.csr`,
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await run('openssl', [
    ...words('x509 -req -days 2 -CAcreateserial'),
    ...[
      '-in',
      `${srv}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-out',
      `${srv}.crt`,
      '-extfile',
      ext,
    ],
  ]);
  await chmod(`${srv}.key`, 0o600);
  return { caCertPath: `${ca}.crt`, certPath: `${srv}.crt`, keyPath: `${srv}.key` };
}

async function makeSshKeys(etc: string, keyUsers: string[]) {
  const hostKey = join(etc, 'ssh_host_ed25519_key');
  const clientKey = join(etc, 'client_ed25519');
  await Promise.all([
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'otpbackup-test-host', '-f', hostKey]),
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'otpbackup-test-client', '-f', clientKey]),
  ]);
  const [{ stdout: fp }, { stdout: rfc4716 }] = await Promise.all([
    run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]),
    // mod_sftp's SFTPAuthorizedUserKeys wants RFC 4716 public keys, not OpenSSH one-liners.
    run('ssh-keygen', ['-e', '-f', `${clientKey}.pub`]),
  ]);
  const keysDir = join(etc, 'authorized_keys');
  await mkdir(keysDir, { mode: 0o755 });
  for (const u of keyUsers) await writeFile(join(keysDir, u), rfc4716, { mode: 0o644 });
  const fingerprint = fp.split(/\s+/)[1] ?? '';
  if (!fingerprint.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${fp.trim()}`);
  return { hostKey, clientKey, keysDir, fingerprint };
}

interface ConfigInput {
  dir: string;
  ids: Ids;
  ports: ProftpdHandle['ports'] & { ftpsImplicit: number };
  tls: { caCertPath: string; certPath: string; keyPath: string };
  ssh: { hostKey: string; keysDir: string };
}

function renderConfig(c: ConfigInput): string {
  const { dir, ports } = c;
  const log = (n: string) => join(dir, 'log', n);
  const run = (n: string) => join(dir, 'run', n);
  // mod_auth_otp is authoritative ('*'): a wrong code must not fall through to the SQL password.
  const otp = (algo: string, lookup: string) => `
  AuthOrder mod_auth_otp.c* mod_sql.c
  AuthOTPEngine on
  AuthOTPAlgorithm ${algo}
  AuthOTPTable sql:/${lookup}/update-user-otp
  AuthOTPOptions RequireTableEntry`;
  const tls = (implicit: boolean) => `
  TLSEngine on
  TLSLog ${log('tls.log')}
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRequired on
  TLSVerifyClient off
  TLSECCertificateFile ${c.tls.certPath}
  TLSECCertificateKeyFile ${c.tls.keyPath}
  TLSCACertificateFile ${c.tls.caCertPath}
  # Node's TLS socket does not always resume the control session on data connections.
  TLSOptions NoSessionReuseRequired${implicit ? ' UseImplicitSSL' : ''}`;
  const sftp = (methods: string) => `
  SFTPEngine on
  SFTPLog ${log('sftp.log')}
  SFTPHostKey ${c.ssh.hostKey}
  SFTPAuthMethods ${methods}
  SFTPCompression off`;
  const vhost = (name: string, port: number, body: string) => `
# ${name}
<VirtualHost 127.0.0.1>
  ServerName "otpbackup-${name}"
  Port ${port}${body}
</VirtualHost>
`;
  return `# Generated by test/servers/proftpd.ts; throwaway test server on loopback.
ServerType standalone
ServerName "otpbackup test"
DefaultServer off
# The main server does not listen; every scenario is its own vhost below.
Port 0
UseIPv6 off
SocketBindTight on
DefaultAddress 127.0.0.1
${c.ids.asRoot ? 'User nobody\nGroup nogroup' : ''}
Umask 022
MaxInstances 50
PidFile ${run('proftpd.pid')}
ScoreboardFile ${run('proftpd.scoreboard')}
DelayTable ${run('proftpd.delay')}
TransferLog ${log('xfer.log')}
WtmpLog off
UseReverseDNS off
ControlsEngine off
# mod_delay pads failed logins to hide timing; useless here and slows tests.
DelayEngine off

<IfModule mod_dso.c>
  ModulePath ${PROFTPD_MODULES}
  LoadModule mod_sql.c
  LoadModule mod_sql_sqlite.c
  LoadModule mod_tls.c
  # mod_auth_otp must load after mod_sftp to offer keyboard-interactive.
  LoadModule mod_sftp.c
  LoadModule mod_auth_otp.c
  # HASH / XSHA256 / XSHA1 / XMD5: verify --read-data lets the server hash (#15), and resumed
  # uploads verify the bytes already there (#14.7).
  LoadModule mod_digest.c
</IfModule>

<Global>
  ServerIdent off
  RequireValidShell off
  UseFtpUsers off
  AuthPAM off
  DefaultRoot ~
  AllowOverwrite on
  # APPE/REST+STOR (off by default): otpbackup resumes a killed upload's temp file where allowed.
  AllowStoreRestart on
  # Here too: the top-level TransferLog covers only the (non-listening) main server, not the vhosts.
  TransferLog ${log('xfer.log')}
  # Default 3 made explicit: the 4th wrong PASS on one connection gets it closed.
  MaxLoginAttempts 3
  TimeoutIdle 120
  TimeoutLogin 60

  SQLEngine on
  SQLBackend sqlite3
  SQLConnectInfo ${join(dir, 'db', 'auth.sqlite3')}
  SQLAuthTypes Plaintext
  SQLAuthenticate users groups
  SQLUserInfo users userid passwd uid gid homedir shell
  SQLGroupInfo groups groupname gid members
  SQLMinID ${Math.min(c.ids.uid, c.ids.gid, 999)}
  SQLLogFile ${log('sql.log')}
  SQLNamedQuery get-user-totp SELECT "secret FROM auth_otp WHERE user = \\'%{0}\\'"
  SQLNamedQuery get-user-hotp SELECT "secret, counter FROM auth_otp WHERE user = \\'%{0}\\'"
  SQLNamedQuery update-user-otp UPDATE "counter = %{1} WHERE user = \\'%{0}\\'" auth_otp

  AuthOTPLog ${log('otp.log')}
  AuthOTPTableLock ${join(dir, 'db', 'otp.lock')}
</Global>
${vhost('ftp-totp', ports.ftp, otp('totp', 'get-user-totp'))}
${vhost('ftps-explicit', ports.ftps, otp('totp', 'get-user-totp') + tls(false))}
${vhost('ftps-implicit', ports.ftpsImplicit, otp('totp', 'get-user-totp') + tls(true))}
${vhost('ftp-hotp', ports.hotp, otp('hotp', 'get-user-hotp'))}
${vhost('ftp-totp-sha256', ports.sha256, otp('totp-sha256', 'get-user-totp'))}
${vhost('ftp-totp-sha512', ports.sha512, otp('totp-sha512', 'get-user-totp'))}
${vhost('sftp-kbd', ports.sftpKbd, otp('totp', 'get-user-totp') + sftp('keyboard-interactive'))}
${vhost(
  'sftp-multi',
  ports.sftpMulti,
  // Only mod_sql checks passwords here, else the code alone would pass the password step too.
  `
  AuthOrder mod_sql.c*
  AuthOTPEngine on
  AuthOTPAlgorithm totp
  AuthOTPTable sql:/get-user-totp/update-user-otp
  AuthOTPOptions RequireTableEntry
  SFTPAuthorizedUserKeys file:${c.ssh.keysDir}/%u` +
    sftp('password+keyboard-interactive publickey+keyboard-interactive'),
)}
${vhost('ftp-plain', ports.ftpPlain, '\n  AuthOrder mod_sql.c*')}
${vhost(
  'sftp-plain',
  ports.sftpPlain,
  `
  AuthOrder mod_sql.c*
  SFTPAuthorizedUserKeys file:${c.ssh.keysDir}/%u` + sftp('publickey password'),
)}`;
}

function renderSql(users: ProftpdHandle['users'], dir: string, id: Ids): string {
  const all = [users.totp, users.hotp, users.sha256, users.sha512, users.multi];
  const everyone = [...all, users.plain];
  const lines = [
    'CREATE TABLE users (userid TEXT PRIMARY KEY, passwd TEXT, uid INTEGER, gid INTEGER, homedir TEXT, shell TEXT);',
    'CREATE TABLE groups (groupname TEXT, gid INTEGER, members TEXT);',
    'CREATE TABLE auth_otp (user TEXT PRIMARY KEY, secret TEXT, counter INTEGER);',
    `INSERT INTO groups VALUES ('otpusers', ${id.gid}, ${sq(everyone.map((u) => u.name).join(','))});`,
    // users.plain has no auth_otp row: only the password-only vhosts let it in.
    `INSERT INTO users VALUES (${sq(users.plain.name)}, ${sq(users.plain.password)}, ${id.uid}, ${id.gid}, ${sq(join(dir, 'home', users.plain.name))}, '/bin/false');`,
  ];
  for (const u of all) {
    lines.push(
      `INSERT INTO users VALUES (${sq(u.name)}, ${sq(u.password)}, ${id.uid}, ${id.gid}, ${sq(join(dir, 'home', u.name))}, '/bin/false');`,
      `INSERT INTO auth_otp VALUES (${sq(u.name)}, ${sq(u.secret)}, ${u === users.hotp ? users.hotp.counter : 0});`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function tail(file: string, lines = 25): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// One readiness probe: connect, read the first bytes, check the greeting.
function probe(port: number, kind: 'ftp' | 'ftps-implicit' | 'ssh', ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock =
      kind === 'ftps-implicit'
        ? tlsConnect({ host: '127.0.0.1', port, ca, servername: undefined })
        : netConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2000);
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) done(kind === 'ssh' ? buf.startsWith('SSH-2.0-') : buf.startsWith('220'));
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

/** Whether pid is a live process. A zombie counts as gone: once the master has died, its session
 * children are re-parented to PID 1, which in a container may never reap them. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (not Linux): trust kill(0).
    return !existsSync('/proc/self');
  }
}

/** Session processes forked by the master (found through /proc, Linux only). */
export async function childPids(pid: number): Promise<number[]> {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = await readFile(`/proc/${e}/stat`, 'utf8');
      // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

async function waitExit(pids: number[], ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pids.some(alive)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !pids.some(alive);
}

export async function startProftpd(opts: StartOptions = {}): Promise<ProftpdHandle> {
  const why = proftpdUnavailable();
  if (why) throw new Error(`cannot start proftpd: ${why}`);
  // A port found free may be taken by a parallel test before proftpd binds it: try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !/already in use/i.test(String(err))) throw err;
    }
  }
}

async function startOnce(opts: StartOptions): Promise<ProftpdHandle> {
  const id = ids();
  const dir = await mkdtemp(join(tmpdir(), 'otpbackup-proftpd-'));
  let child: ChildProcess | undefined;
  try {
    // The session processes (as nobody) must traverse dir to reach the homes.
    await chmod(dir, 0o755);
    const etc = join(dir, 'etc');
    const dbDir = join(dir, 'db');
    await Promise.all([
      mkdir(etc, { mode: 0o700 }),
      mkdir(join(dir, 'log'), { mode: 0o755 }),
      mkdir(join(dir, 'run'), { mode: 0o755 }),
      mkdir(join(dir, 'home'), { mode: 0o755 }),
      mkdir(dbDir, { mode: 0o700 }),
    ]);
    const users = {
      totp: makeUser('totp'),
      hotp: { ...makeUser('hotp'), counter: 0 },
      sha256: makeUser('sha256'),
      sha512: makeUser('sha512'),
      multi: makeUser('multi'),
      plain: { name: 'plain', password: randomBytes(9).toString('base64url') },
    };
    const [tls, ssh, p] = await Promise.all([
      makeTls(etc),
      makeSshKeys(etc, [users.multi.name, users.plain.name]),
      freePorts(10),
    ]);
    const names = [
      'ftp',
      'ftps',
      'ftpsImplicit',
      'sftpKbd',
      'sftpMulti',
      'hotp',
      'sha256',
      'sha512',
      'ftpPlain',
      'sftpPlain',
    ] as const;
    const ports = Object.fromEntries(names.map((n, i) => [n, p[i]])) as Record<
      (typeof names)[number],
      number
    >;
    const { ftp, ftps, ftpsImplicit, sftpKbd, sftpMulti, hotp, sha256, sha512, ftpPlain, sftpPlain } = ports;

    for (const u of Object.values(users)) {
      const h = join(dir, 'home', u.name);
      await mkdir(h, { mode: 0o755 });
      if (id.asRoot) await chown(h, id.uid, id.gid);
    }
    const dbPath = join(dbDir, 'auth.sqlite3');
    await writeFile(join(etc, 'init.sql'), renderSql(users, dir, id));
    await run('sqlite3', [dbPath, `.read ${join(etc, 'init.sql')}`]);
    // HOTP logins update the counter from the session process, which runs as nobody; sqlite
    // also needs to create its journal next to the db.
    if (id.asRoot) {
      await chown(dbDir, id.uid, id.gid);
      await chown(dbPath, id.uid, id.gid);
    }
    const confPath = join(etc, 'proftpd.conf');
    await writeFile(confPath, renderConfig({ dir, ids: id, ports, tls, ssh }));

    // With -n, proftpd writes its log lines to stderr (SystemLog is ignored): keep them in a file.
    const systemLog = join(dir, 'log', 'system.log');
    const logFd = openSync(systemLog, 'a', 0o640);
    let exited: string | undefined;
    try {
      child = spawn(PROFTPD_BIN, ['-n', '-c', confPath], { stdio: ['ignore', 'ignore', logFd] });
    } finally {
      closeSync(logFd);
    }
    child.on('exit', (code, sig) => {
      exited = `exited with ${sig ?? code}`;
    });
    child.on('error', (e) => {
      exited = `failed to spawn: ${e.message}`;
    });
    const pid = child.pid;
    if (!pid) throw new Error(`cannot spawn ${PROFTPD_BIN}`);

    const caPem = await readFile(tls.caCertPath, 'utf8');
    const checks: Array<[number, 'ftp' | 'ftps-implicit' | 'ssh']> = [
      [ftp, 'ftp'],
      [ftps, 'ftp'],
      [ftpsImplicit, 'ftps-implicit'],
      [hotp, 'ftp'],
      [sha256, 'ftp'],
      [sha512, 'ftp'],
      [sftpKbd, 'ssh'],
      [sftpMulti, 'ssh'],
      [ftpPlain, 'ftp'],
      [sftpPlain, 'ssh'],
    ];
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    let pending = checks;
    while (pending.length) {
      if (exited) {
        throw new Error(`proftpd ${exited} during start-up\n--- ${systemLog} ---\n${await tail(systemLog)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `proftpd not ready on ports ${pending.map((c) => c[0]).join(', ')} after ${opts.startTimeoutMs ?? 20_000} ms\n--- ${systemLog} ---\n${await tail(systemLog)}`,
        );
      }
      const ok = await Promise.all(pending.map(([port, kind]) => probe(port, kind, caPem)));
      pending = pending.filter((_, i) => !ok[i]);
      if (pending.length) await new Promise((r) => setTimeout(r, 50));
    }

    const tlsCertFingerprint = `SHA256:${new X509Certificate(await readFile(tls.certPath)).fingerprint256}`;
    const proc = child;
    let stopped = false;
    return {
      dir,
      pid,
      home: (user) => join(dir, 'home', user),
      ports,
      users,
      clientKeyPath: ssh.clientKey,
      sshHostKeyFingerprint: ssh.fingerprint,
      caCertPath: tls.caCertPath,
      tlsCertFingerprint,
      failedLogins: () => countFailedLogins(dir),
      async hotpCounter() {
        const { stdout } = await run('sqlite3', [
          dbPath,
          `SELECT counter FROM auth_otp WHERE user = ${sq(users.hotp.name)};`,
        ]);
        return Number(stdout.trim());
      },
      logTail: (lines) => tail(systemLog, lines),
      async stop() {
        if (stopped) return;
        stopped = true;
        // Sessions first, while the master is alive to reap them (orphans would be left to
        // PID 1, which in a container may leave zombies); then the master.
        const sessions = await childPids(pid);
        for (const p of sessions) {
          try {
            process.kill(p, 'SIGTERM');
          } catch {
            // already gone
          }
        }
        await waitExit(sessions, 3000);
        if (!exited) proc.kill('SIGTERM');
        if (!(await waitExit([pid, ...sessions], 5000))) {
          for (const p of [pid, ...sessions]) {
            try {
              process.kill(p, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          await waitExit([pid, ...sessions], 2000);
        }
        if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child?.pid && alive(child.pid)) {
      child.kill('SIGKILL');
      await waitExit([child.pid], 2000);
    }
    if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Refused logins so far. FTP: each "USER x (Login failed): ..." line of the system log (one per
 * refused PASS). SSH: each "sending userauth failure" line of the SFTP log (one per refused
 * userauth request: a wrong code, a wrong password, or a public key that is not authorised).
 * An SSH password failure also writes a "Login failed" line; those sessions are counted once,
 * through the SFTP log.
 */
export async function countFailedLogins(dir: string): Promise<number> {
  const read = (n: string) => readFile(join(dir, 'log', n), 'utf8').catch(() => '');
  const [system, sftp] = await Promise.all([read('system.log'), read('sftp.log')]);
  const sshPids = new Set<string>();
  let ssh = 0;
  for (const line of sftp.split('\n')) {
    const pid = /^\S+ \S+ mod_sftp\/[^[]*\[(\d+)\]/.exec(line)?.[1];
    if (pid) sshPids.add(pid);
    if (line.includes('sending userauth failure')) ssh++;
  }
  let ftp = 0;
  for (const line of system.split('\n')) {
    if (!line.includes('(Login failed)')) continue;
    const pid = /proftpd\[(\d+)\]/.exec(line)?.[1];
    if (!pid || !sshPids.has(pid)) ftp++;
  }
  return ftp + ssh;
}
