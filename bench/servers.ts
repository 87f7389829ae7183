// The servers every transfer case runs on, behind one shape: ProFTPD (SFTP and FTP, virtual users),
// stock OpenSSH sshd (SFTP; PAM password then google-authenticator code) and stock vsftpd (FTP; PASS
// is password+code). Each has an OTP login for otpbackup and a password/key-only twin for the tools
// that cannot compute codes. Only the servers the selected cases need are started.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ProftpdHandle, proftpdUnavailable, startProftpd } from '../test/servers/proftpd.js';
import { type SshdHandle, sshdUnavailable, startSshd } from '../test/servers/sshd.js';
import { startVsftpd, type VsftpdHandle, vsftpdUnavailable } from '../test/servers/vsftpd.js';

export type ServerName = 'proftpd' | 'sshd' | 'vsftpd';
export type Proto = 'sftp' | 'ftp';
export const SERVERS: ServerName[] = ['proftpd', 'sshd', 'vsftpd'];
/** What each server speaks in the bench (sshd has no FTP, vsftpd no SFTP). */
export const SERVER_PROTOS: Record<ServerName, Proto[]> = {
  proftpd: ['sftp', 'ftp'],
  sshd: ['sftp'],
  vsftpd: ['ftp'],
};

export interface Login {
  user: string;
  password: string;
  /** Port per protocol the server offers for this login. */
  ports: Partial<Record<Proto, number>>;
}

export interface BenchServer {
  name: ServerName;
  /** For titles: "ProFTPD", "OpenSSH sshd", "vsftpd". */
  label: string;
  protos: Proto[];
  /** Where a user's relative paths land on local disk. */
  home(user: string): string;
  /** The path of `dest` (relative to the login directory) in an otpbackup --to URL. */
  urlPath(user: string, dest: string): string;
  /** otpbackup's account: `password` is sent only where the server asks for it with the code. */
  otp: Login & { secret: string; sendsPassword: boolean };
  /** The twin for the other tools: password, or clientKeyPath over SSH. */
  plain: Login;
  sshHostKeyFingerprint?: string;
  clientKeyPath?: string;
  /** The daemons' listener processes: their children's CPU (cutime+cstime) is the server's work. */
  pids: number[];
  /** Where the homes live: their own tmpfs (see ownDisk), or the disk the client uses too. */
  disk?: 'tmpfs';
  stop(): Promise<void>;
}

export function unavailable(name: ServerName): string | undefined {
  return name === 'proftpd'
    ? proftpdUnavailable()
    : name === 'sshd'
      ? sshdUnavailable()
      : vsftpdUnavailable();
}

function proftpd(p: ProftpdHandle): BenchServer {
  return {
    name: 'proftpd',
    label: 'ProFTPD',
    protos: SERVER_PROTOS.proftpd,
    home: (u) => p.home(u),
    // Chrooted: "/" is the home.
    urlPath: (_u, dest) => `/${dest}`,
    otp: {
      user: p.users.totp.name,
      password: p.users.totp.password,
      secret: p.users.totp.secret,
      // mod_auth_otp: the code alone, over FTP and SFTP.
      sendsPassword: false,
      ports: { sftp: p.ports.sftpKbd, ftp: p.ports.ftp },
    },
    plain: {
      user: p.users.plain.name,
      password: p.users.plain.password,
      ports: { sftp: p.ports.sftpPlain, ftp: p.ports.ftpPlain },
    },
    sshHostKeyFingerprint: p.sshHostKeyFingerprint,
    clientKeyPath: p.clientKeyPath,
    pids: [p.pid],
    stop: () => p.stop(),
  };
}

function sshd(s: SshdHandle): BenchServer {
  // No DISALLOW_REUSE: like `--otp-reuse allow` on ProFTPD, no run waits for a fresh step.
  const u = s.users.reuse;
  return {
    name: 'sshd',
    label: 'OpenSSH sshd',
    protos: SERVER_PROTOS.sshd,
    home: (name) => s.home(name),
    // Not chrooted: the home is an ordinary absolute path.
    urlPath: (name, dest) => `${s.home(name)}/${dest}`,
    otp: {
      user: u.name,
      password: u.password,
      secret: u.secret,
      sendsPassword: true,
      ports: { sftp: s.ports.kbd },
    },
    plain: { user: s.users.plain.name, password: s.users.plain.password, ports: { sftp: s.ports.plain } },
    sshHostKeyFingerprint: s.sshHostKeyFingerprint,
    clientKeyPath: s.clientKeyPath,
    pids: [s.pids.otp, s.pids.plain],
    stop: () => s.stop(),
  };
}

function vsftpd(v: VsftpdHandle): BenchServer {
  const u = v.users.reuse;
  return {
    name: 'vsftpd',
    label: 'vsftpd',
    protos: SERVER_PROTOS.vsftpd,
    home: (name) => v.home(name),
    urlPath: (_u, dest) => `/${dest}`,
    otp: {
      user: u.name,
      password: u.password,
      secret: u.secret,
      sendsPassword: true,
      ports: { ftp: v.ports.ftp },
    },
    plain: { user: v.users.plain.name, password: v.users.plain.password, ports: { ftp: v.ports.plain } },
    pids: [v.pids.ftp, v.pids.ftps, v.pids.plain],
    stop: () => v.stop(),
  };
}

export async function startServer(name: ServerName): Promise<BenchServer> {
  const s =
    name === 'proftpd'
      ? proftpd(await startProftpd())
      : name === 'sshd'
        ? sshd(await startSshd())
        : vsftpd(await startVsftpd());
  return ownDisk(s);
}

/**
 * Gives the server's homes a file system of their own (tmpfs), as a remote server has its own disk.
 * On one shared ext4, the first fsync a client makes after an upload (otpbackup's state files; curl
 * and lftp make none) waits for the server's writeback of everything it just received: 100–145 ms
 * per 64 MiB traced, seconds per GiB — a cost of loopback, not of the tool. Needs root (mount);
 * BENCH_SERVER_DISK=shared keeps the old layout. The homes' files (sshd's .google_authenticator)
 * are copied onto the new mount, owners and modes kept.
 */
function ownDisk(s: BenchServer): BenchServer {
  if (process.env.BENCH_SERVER_DISK === 'shared' || process.getuid?.() !== 0) return s;
  const mounted: string[] = [];
  for (const user of new Set([s.otp.user, s.plain.user])) {
    const home = s.home(user);
    const st = statSync(home);
    const keep = mkdtempSync(join(tmpdir(), 'otpbackup-bench-home-'));
    execFileSync('cp', ['-a', `${home}/.`, keep]);
    execFileSync('mount', [
      '-t',
      'tmpfs',
      '-o',
      `size=12g,uid=${st.uid},gid=${st.gid},mode=${(st.mode & 0o7777).toString(8)}`,
      'tmpfs',
      home,
    ]);
    mounted.push(home);
    execFileSync('cp', ['-a', `${keep}/.`, home]);
    rmSync(keep, { recursive: true, force: true });
  }
  const stop = s.stop;
  return {
    ...s,
    disk: 'tmpfs',
    stop: async () => {
      for (const m of mounted) execFileSync('umount', ['-l', m]);
      await stop();
    },
  };
}
