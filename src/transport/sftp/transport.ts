// SFTP transport over ssh2: one SSH connection and one SFTP session for all files, several puts in
// flight at once. Login goes through the login discipline (fresh code per attempt, at most one retry);
// auth methods follow the server's partial-success list; host keys must be known or pinned.
import { closeSync, constants, open as openCb, readSync } from 'node:fs';
import { type FileHandle, stat as localStat, readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import ssh2, { type SFTPWrapper, type Stats } from 'ssh2';
import type { Account, SftpAuthMethod } from '../../config/types.js';
import { urlPathOfRemoteDir } from '../../config/url.js';
import { OtpBackupError } from '../../errors.js';
import { expandTemplate } from '../../otp/index.js';
import { fsPath } from '../../scan/raw-name.js';
import type { Clock } from '../../schedule/clock.js';
import { redact } from '../../secrets/redact.js';
import { ABORT_GRACE_MS, uploadInterrupted } from '../abort.js';
import { writeLocalAtomically } from '../local-file.js';
import { type CredentialSource, type Credentials, loginWithDiscipline } from '../login.js';
import { IO_TIMEOUT_S, openSshSocket, reachTimeouts } from '../reach.js';
import {
  ancestors,
  basename,
  dirname,
  join,
  normalize,
  resolveRemote,
  validateRemotePath,
} from '../remote-path.js';
import { backoffMs, shouldRetry } from '../retry.js';
import { tempPathFor } from '../temp.js';
import type { GetOptions, PutOptions, RemoteEntry, Transport } from '../types.js';
import { type Channel, ChannelPool } from './channels.js';
import { type HostKeyVerdict, verifyHostKey } from './hostkeys.js';
import { combinedPromptHint, type PromptLogEntry, PromptResponder } from './prompts.js';
import { downgradeError, SSH_ALGORITHMS } from './ssh-algorithms.js';
import { channelsFor, raiseLimits, requestsFor, type SftpTuning, sftpTuning } from './tuning.js';
import { sendFile } from './upload.js';

export interface SftpTransportOptions {
  account: Account;
  credentials: CredentialSource;
  clock: Clock;
  log?: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves the private key passphrase reference (account.privateKeyPassphrase). */
  getSecret?: (ref: string) => Promise<string>;
  /** Extra pinned host key fingerprints (--trust-host-key). */
  trustHostKeys?: string[];
  /** Puts in flight at once in the one SFTP session. */
  concurrency?: number;
  /** Reconnects (under the login discipline) per operation after a network fault; default 3. */
  maxRetries?: number;
  /** --debug: log the SSH protocol (secrets masked). */
  trace?: boolean;
}

// SFTP status codes (draft-ietf-secsh-filexfer-02, what OpenSSH speaks).
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;
const SFTP_NO_CONNECTION = 6;
const SFTP_CONNECTION_LOST = 7;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

// Requests in flight per file and their size: sftp/tuning.ts (64 x 32 KiB by default, OpenSSH
// sftp's depth; 16 left the pipe idle on fast links, bench/, issue #7).
/** Files up to this size are never resumed (sent whole: cheaper than the checks). */
const RESUME_MIN = 256 * 1024;
/** The acknowledged prefix is written to the temp journal each time it grew by this much. */
const RESUME_STEP = 4 * 1024 * 1024;
/** Bytes read back and compared below the resume point. */
const RESUME_CHECK = 64 * 1024;
/** Reconnects one transport may make in all, however much progress is made between them. */
const MAX_RECONNECTS = 100;

// ssh2 is CommonJS: Node's ESM loader sees only its default export.
const { Client } = ssh2;
type Client = InstanceType<typeof Client>;

type SshError = Error & { level?: string; code?: number | string };

function entryType(mode: number): RemoteEntry['type'] {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return 'dir';
    case S_IFREG:
      return 'file';
    case S_IFLNK:
      return 'link';
    default:
      return 'other';
  }
}

/** Maps an SFTP/ssh2 error to an OtpBackupError naming the operation and the path. */
export function classifySftpError(e: unknown, what: string): OtpBackupError {
  if (e instanceof OtpBackupError) return e;
  const err = e as SshError;
  const msg = err?.message ?? String(e);
  if (err?.code === SFTP_NO_SUCH_FILE) {
    return new OtpBackupError('remote', `${what}: no such file or directory`, {
      cause: e,
      hint: 'check the remote directory exists and is spelled right',
    });
  }
  if (err?.code === SFTP_PERMISSION_DENIED) {
    return new OtpBackupError('remote', `${what}: permission denied`, {
      cause: e,
      hint: 'the server account may not write there; check its permissions',
    });
  }
  if (
    err?.code === SFTP_NO_CONNECTION ||
    err?.code === SFTP_CONNECTION_LOST ||
    err?.code === 'ECONNRESET' ||
    err?.code === 'ETIMEDOUT' ||
    err?.code === 'EPIPE' ||
    /no response from server|not connected|channel (is )?(not open|closed)|connection (lost|reset)|keepalive|timed out/i.test(
      msg,
    )
  ) {
    return new OtpBackupError('network', `${what}: connection lost (${msg})`, {
      cause: e,
      retryable: true,
      hint: 'the network or the server dropped the connection',
    });
  }
  return new OtpBackupError('remote', `${what}: ${msg}`, { cause: e });
}

/** An ssh-agent that notes whether it was asked to sign (the server accepted one of its keys). */
function watchedAgent(socket: string): { agent: ssh2.BaseAgent; signed: boolean } {
  const inner = ssh2.createAgent(socket);
  const w: { agent: ssh2.BaseAgent; signed: boolean } = { agent: inner, signed: false };
  // A plain object over the real agent: ssh2 accepts any object with these two methods.
  w.agent = Object.assign(Object.create(ssh2.BaseAgent.prototype) as ssh2.BaseAgent, {
    getIdentities: (cb: unknown) => (inner.getIdentities as (c: unknown) => void)(cb),
    sign: (...args: unknown[]) => {
      w.signed = true;
      (inner.sign as (...a: unknown[]) => void)(...args);
    },
  });
  return w;
}

/** The errno-ish reason of a local write failure, for messages. */
function writeFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' ? 'the disk is full' : (code ?? (e as Error).message);
}

/** Opens a local file for reading; O_NONBLOCK so a FIFO put in its place cannot hang the open. */
function openLocal(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    openCb(fsPath(path), constants.O_RDONLY | constants.O_NONBLOCK, (err, fd) => {
      if (err) reject(new OtpBackupError('local', `cannot read ${path}: ${err.message}`, { cause: err }));
      else resolve(fd);
    });
  });
}

/**
 * ssh2 writes every SSH packet to the socket on its own (a WRITE of 32 KiB is two packets, each a
 * syscall under TCP_NODELAY). Corking on the first write of a tick and uncorking on the next hands
 * all of them to one writev.
 */
function corkPerTick(sock: NodeJS.WritableStream & { cork(): void; uncork(): void }): void {
  const write = sock.write.bind(sock) as (...a: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    sock.uncork();
  };
  (sock as { write: unknown }).write = (...args: unknown[]) => {
    if (!corked) {
      corked = true;
      sock.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}

export class SftpTransport implements Transport {
  readonly concurrency: number;
  /** Which rule answered which keyboard-interactive prompt, over all attempts (no answer values). */
  readonly promptLog: PromptLogEntry[] = [];
  /** The server's host key and what vouched for it, once connected. */
  hostKey: HostKeyVerdict | undefined;

  private client: Client | undefined;
  private sftp: SFTPWrapper | undefined;
  /** The SFTP channels of this connection (the first is `sftp`); see sftp/channels.ts. */
  private pool: ChannelPool | undefined;
  private lost: Error | undefined;
  private readonly knownDirs = new Set<string>();
  /** The login directory (REALPATH "." after the first login); "~" and relative paths are below it. */
  private home: string | undefined;
  private readonly maxRetries: number;
  /** One reconnect shared by every operation that saw the session go (not one login per file in flight). */
  private reconnecting: Promise<void> | undefined;
  private key: { key: Buffer; passphrase?: string } | undefined | null = null;
  private closed = false;
  /** Connections lost since the server last answered a request: the retry budget. Not per file:
   *  one loss fails every put in flight, and on a link that drops every few megabytes a large file
   *  may need many tries while the run as a whole keeps moving. */
  private lossesSinceProgress = 0;
  /** Every connection lost in this transport's life, capped by MAX_RECONNECTS. */
  private losses = 0;
  /** WRITE requests the server answered with an error, on any channel. ProFTPD's mod_sftp answers a
   *  short pwrite(2) (a disk filling up) with OK, so once any WRITE fails, the OK of every upload
   *  in flight beside it is doubted: space freed since (a failed upload's temp removed) lets the
   *  next WRITE land past the short one, leaving a hole of zeros at the right size. */
  private writeFailures = 0;
  /** Uploads allowed in flight now: `concurrency`, cut to 1 by a lost connection and doubled by
   *  each upload that lands (TCP's slow start). Without it, the first burst after a reconnect —
   *  32 files at once, megabytes before the first reply — is lost whole on a link that drops every
   *  megabyte, and the run never moves. */
  private window: number;
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  /** Requests waiting for a reply: ssh2 never calls some of them back once the connection is gone. */
  private readonly pendingCalls = new Set<(e: Error) => void>();
  private readonly watched = new WeakSet<AbortSignal>();
  /** When the server last answered anything (or a request was made after an idle spell). */
  private heard = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;

  private readonly tuning: SftpTuning;

  /** SFTP channels open on the current connection (tests, --debug). */
  get channelCount(): number {
    return this.pool?.channels.length ?? (this.sftp ? 1 : 0);
  }

  constructor(private readonly opts: SftpTransportOptions) {
    this.tuning = sftpTuning(opts.env);
    // Small files are round-trip bound (open, write, close, setstat, rename): keep many in flight.
    this.concurrency = opts.concurrency ?? 32;
    this.window = this.concurrency;
    this.maxRetries = opts.maxRetries ?? opts.account.retries ?? 3;
  }

  /** Runs one upload attempt within the window (see `window`). */
  private async inWindow<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    while (this.inFlight >= this.window) await new Promise<void>((r) => this.waiting.push(r));
    signal?.throwIfAborted();
    this.inFlight++;
    try {
      const r = await fn();
      this.window = Math.min(this.concurrency, this.window * 2);
      return r;
    } finally {
      this.inFlight--;
      // Each woken upload checks the window again; those that do not fit wait once more.
      for (const wake of this.waiting.splice(0)) wake();
    }
  }

  /** The server answered: the link works, so the losses so far do not count against the budget. */
  private progressed(): void {
    this.lossesSinceProgress = 0;
    this.heard = performance.now();
  }

  /**
   * --timeout for SFTP: requests waiting with no answer at all for the account timeout mean a hung
   * session (a stopped sftp-server, a server disk that hangs) even while the SSH layer still answers
   * keepalives; the connection is given up (a network fault: reconnect per --retries).
   */
  private watchIdle(): void {
    if (this.idleTimer) return;
    const ms = (this.opts.account.timeout ?? IO_TIMEOUT_S) * 1000;
    this.idleTimer = setInterval(
      () => {
        if (this.lost || !this.client || this.pendingCalls.size === 0) return;
        if (performance.now() - this.heard <= ms) return;
        this.lostOne();
        this.cut(`no answer from the server for ${ms / 1000} s`);
      },
      Math.max(250, Math.min(5000, ms / 4)),
    );
    this.idleTimer.unref();
  }

  private lostOne(): void {
    this.lossesSinceProgress++;
    this.losses++;
    this.window = 1;
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  async connect(signal?: AbortSignal): Promise<void> {
    this.closed = false;
    if (this.sftp && !this.lost) return;
    await this.login(signal);
  }

  /** A new connection and SFTP session, under the login discipline (fresh code, never a spent step). */
  private async login(signal?: AbortSignal): Promise<void> {
    const { account, clock } = this.opts;
    const old = this.client;
    this.client = undefined;
    this.sftp = undefined;
    this.pool?.close();
    this.pool = undefined;
    for (const fail of [...this.pendingCalls]) fail(this.lost ?? new Error('connection replaced'));
    old?.destroy();
    if (this.key === null) this.key = account.privateKey ? await this.loadKey() : undefined;
    const key = this.key;
    await loginWithDiscipline(this.opts.credentials, (c) => this.attempt(c, key, signal), {
      clock,
      signal,
      ...(account.retries !== undefined ? { maxNetworkRetries: account.retries } : {}),
    });
    // Once: the home directory does not move between reconnects. Without an answer, relative paths go to
    // the server as they are, which resolves them against the same directory.
    this.home ??= await this.call<string>('realpath .', (s, cb) => s.realpath('.', cb))
      .then((h) => (h.startsWith('/') ? normalize(h) : undefined))
      .catch(() => undefined);
  }

  /** Absolute path on the server: "~", "~/x" and relative paths are below the login directory. */
  private abs(path: string): string {
    return resolveRemote(validateRemotePath(path), this.home);
  }

  /**
   * Permission denied on an absolute directory outside the login directory: most likely `sftp://host/dir`
   * (absolute, as curl reads it) was meant as a directory below the home; the hint shows the "~/" form.
   */
  private explainDenied(e: unknown, path: string): unknown {
    const home = this.home;
    if (!(e instanceof OtpBackupError) || (e.cause as SshError)?.code !== SFTP_PERMISSION_DENIED) return e;
    if (!home || home === '/' || !path.startsWith('/') || path === home || path.startsWith(`${home}/`))
      return e;
    const a = this.opts.account;
    const host = a.host.includes(':') ? `[${a.host}]` : a.host;
    const below = `sftp://${encodeURIComponent(a.user)}@${host}:${a.port}${urlPathOfRemoteDir('sftp', `~${path}`)}`;
    return new OtpBackupError('remote', e.message, {
      cause: e.cause,
      hint: `the server account may not write there. ${path} is an absolute path: sftp://host/dir starts at the server's root. For a directory below the login directory ${home}, write ~/ (${below}, or remoteDir ~${path} in the config)`,
    });
  }

  private reconnect(signal?: AbortSignal): Promise<void> {
    this.reconnecting ??= this.login(signal).finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  /**
   * Runs `fn` on a live session. A network fault (reset, stall caught by the keepalive, server gone)
   * drops the session, waits with backoff, reconnects once for all operations in flight, and retries;
   * other errors (auth, permission, space) are thrown at once. Like restic's retry backend.
   */
  /** `dir`: the directory the operation writes in, for the hint of a permission error. */
  private async op<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal, dir?: string): Promise<T> {
    try {
      return await this.opOnce(what, fn, signal);
    } catch (e) {
      throw dir === undefined ? e : this.explainDenied(e, dir);
    }
  }

  private async opOnce<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let tries = 0; ; tries++) {
      signal?.throwIfAborted();
      if (this.closed) throw new OtpBackupError('internal', `${what}: the transport is closed`);
      if (this.reconnecting) await this.reconnecting;
      else if (this.lost || !this.sftp) await this.reconnect(signal);
      const used = this.sftp;
      try {
        const r = await fn();
        this.progressed();
        return r;
      } catch (e) {
        if (signal?.aborted) throw e;
        if (this.sftp === used && used && e instanceof OtpBackupError && e.code === 'network') {
          // A stalled session may still look open: make sure it is gone before logging in again.
          if (!this.lost) this.lostOne();
          this.lost ??= new Error(e.message);
          this.client?.destroy();
        }
        // The budget is the transport's, not this operation's: losses since the server last
        // answered, and MAX_RECONNECTS in all (retry.ts says why SFTP keeps its own loop).
        if (
          !shouldRetry(e, { networkOnly: true }) ||
          this.lossesSinceProgress > this.maxRetries ||
          this.losses > MAX_RECONNECTS
        )
          throw e;
        this.log(`sftp: ${e.message}; reconnecting (${this.lossesSinceProgress}/${this.maxRetries})`);
        // The wait grows with the losses in a row, never past this operation's own tries.
        await this.opts.clock.sleep(
          backoffMs(Math.min(Math.max(this.lossesSinceProgress - 1, 0), tries)),
          signal,
        );
      }
    }
  }

  private async loadKey(): Promise<{ key: Buffer; passphrase?: string }> {
    const { account } = this.opts;
    const path = account.privateKey as string;
    let key: Buffer;
    try {
      key = await readFile(path);
    } catch (e) {
      throw new OtpBackupError(
        'local',
        `accounts.${account.name}.privateKey: cannot read ${path}: ${(e as Error).message}`,
        {
          hint: 'point privateKey at an OpenSSH private key file readable by this user',
        },
      );
    }
    const ref = account.privateKeyPassphrase;
    if (!ref) return { key };
    if (!this.opts.getSecret)
      throw new OtpBackupError('internal', 'no secret resolver for the private key passphrase');
    return { key, passphrase: await this.opts.getSecret(ref) };
  }

  /** One login attempt on a new connection; resolves once the SFTP session is open. */
  private async attempt(
    c: Credentials,
    key: { key: Buffer; passphrase?: string } | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { account } = this.opts;
    if (account.jump) return this.handshake(c, key, await this.throughJump(account.jump, signal), signal);
    // Reached and speaking SSH first (short timeouts, the wrong protocol named), then the handshake.
    const sock = await openSshSocket(account.host, account.port, {
      ...reachTimeouts(account),
      account: account.name,
      ...(signal ? { signal } : {}),
    });
    return this.handshake(c, key, sock, signal);
  }

  /**
   * ProxyJump: an SSH connection to the bastion (public key from the agent or its IdentityFile: a
   * bastion that wants a one-time code is not supported), then a direct-tcpip channel to the target,
   * which carries the real login. The bastion connection lives as long as that channel.
   */
  private async throughJump(jump: NonNullable<Account['jump']>, signal?: AbortSignal): Promise<Socket> {
    const { account } = this.opts;
    const where = `${jump.host}:${jump.port} (ProxyJump)`;
    const sock = await openSshSocket(jump.host, jump.port, {
      ...reachTimeouts(account),
      account: account.name,
      ...(signal ? { signal } : {}),
    });
    let key: Buffer | undefined;
    if (jump.privateKey) {
      try {
        key = await readFile(jump.privateKey);
      } catch (e) {
        throw new OtpBackupError(
          'local',
          `ProxyJump ${jump.host}: cannot read ${jump.privateKey}: ${(e as Error).message}`,
        );
      }
    }
    if (!key && !account.agent)
      throw new OtpBackupError('config', `ProxyJump ${jump.host}: no key for the jump host`, {
        hint: 'give the jump host an IdentityFile in ~/.ssh/config, or load its key into ssh-agent (SSH_AUTH_SOCK)',
      });
    const bastion = new Client();
    return new Promise<Socket>((resolve, reject) => {
      let settled = false;
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        bastion.on('error', () => {});
        bastion.end();
        reject(e);
      };
      bastion.on('error', (e: SshError) =>
        fail(
          e.level === 'client-authentication'
            ? new OtpBackupError('auth', `${where} refused the public key of user "${jump.user}"`, {
                hint: 'add the key to the jump host account, or check ProxyJump in ~/.ssh/config',
              })
            : new OtpBackupError('network', `${where}: ${e.message}`, { retryable: true }),
        ),
      );
      bastion.on('ready', () => {
        bastion.forwardOut('127.0.0.1', 0, account.host, account.port, (err, stream) => {
          if (err)
            return fail(
              new OtpBackupError(
                'network',
                `${where} would not open a channel to ${account.host}:${account.port}: ${err.message}`,
                {
                  hint: 'the jump host must allow TCP forwarding (AllowTcpForwarding) to the target',
                },
              ),
            );
          settled = true;
          // The inner connection ending ends the bastion's too.
          stream.on('close', () => bastion.end());
          resolve(stream as unknown as Socket);
        });
      });
      bastion.connect({
        sock,
        username: jump.user,
        algorithms: SSH_ALGORITHMS,
        readyTimeout: reachTimeouts(account).greetingMs,
        hostVerifier: (keyBlob: Buffer) => {
          try {
            verifyHostKey(keyBlob, {
              host: jump.host,
              port: jump.port,
              env: this.opts.env,
              trust: account.trust,
              pinned: this.opts.trustHostKeys,
            });
            return true;
          } catch (e) {
            fail(e);
            return false;
          }
        },
        ...(key ? { privateKey: key } : {}),
        ...(account.agent ? { agent: account.agent } : {}),
      });
    });
  }

  private handshake(
    c: Credentials,
    key: { key: Buffer; passphrase?: string } | undefined,
    sock: Socket,
    signal?: AbortSignal,
  ): Promise<void> {
    const { account, env } = this.opts;
    const where = `${account.host}:${account.port}`;
    const prefs: SftpAuthMethod[] = account.authMethods?.length
      ? account.authMethods
      : key || account.agent
        ? ['publickey', 'keyboard-interactive', 'password']
        : ['keyboard-interactive', 'password'];
    const responder = new PromptResponder(account, c, this.promptLog);
    const firstPrompt = this.promptLog.length;
    let passwordSent = false;
    /** The pam_oath case: a code-only answer refused while the password went nowhere. */
    const withPromptHint = (e: OtpBackupError): OtpBackupError => {
      const hint = combinedPromptHint(this.promptLog.slice(firstPrompt), c, passwordSent);
      return hint && e.code === 'auth' ? new OtpBackupError('auth', e.message, { hint, cause: e }) : e;
    };
    if (this.tuning.cork) corkPerTick(sock);
    const client = new Client();
    let failure: OtpBackupError | undefined; // set by callbacks; reported instead of ssh2's generic error
    let last: string | undefined;
    const done = new Set<string>();
    const refused = new Set<string>();
    let plainPassword = false;
    const agent = account.agent ? watchedAgent(account.agent) : undefined;
    let agentTried = false;

    const authHandler = (
      methodsLeft: string[] | null,
      partialSuccess: boolean | null,
      next: (a: unknown) => void,
    ) => {
      if (last === undefined) {
        // Ask with "none" first: the reply lists the methods the server wants (RFC 4252 5.2).
        last = 'none';
        return next({ type: 'none', username: c.user });
      }
      if (last === 'agent') {
        // ssh2 takes a partial success of an agent key for a failure and moves on to the next key
        // (mscdex/ssh2#1215), then hands us the methods of an earlier reply. A signature asked of the
        // agent means the server accepted that key: count the public-key step as done, and go on
        // with the other methods the account allows.
        if (partialSuccess || agent?.signed) {
          done.add('publickey');
          if (!partialSuccess) methodsLeft = prefs.filter((m) => m !== 'publickey');
        }
      } else if (last !== 'none') {
        if (partialSuccess) done.add(last);
        else refused.add(last);
        if (!partialSuccess && last !== 'publickey') {
          // A refused password or code: stop here, the discipline decides whether to retry.
          failure ??= withPromptHint(
            new OtpBackupError('auth', `${where} refused the ${last} login of user "${c.user}"`, {
              hint:
                last === 'password' && plainPassword
                  ? 'the password was sent alone (the code goes to keyboard-interactive); if this server wants password and code together, set authMethods: [password]'
                  : undefined,
            }),
          );
          return next(false);
        }
      }
      const offered = methodsLeft ?? [];
      // ssh-agent first for the public-key step, as OpenSSH does; a key file after a refused agent.
      if (
        agent &&
        !agentTried &&
        prefs.includes('publickey') &&
        offered.includes('publickey') &&
        !done.has('publickey')
      ) {
        agentTried = true;
        last = 'agent';
        this.log('sftp: trying publickey (ssh-agent)');
        return next({ type: 'agent', username: c.user, agent: agent.agent });
      }
      const pick = prefs.find(
        (m) => offered.includes(m) && !done.has(m) && !refused.has(m) && (m !== 'publickey' || key),
      );
      if (!pick) {
        failure ??= new OtpBackupError(
          refused.has('publickey') ? 'auth' : 'config',
          refused.has('publickey')
            ? `${where} refused the public key of user "${c.user}" (${account.privateKey})`
            : `${where} wants ${offered.join(', ') || 'no method'} for user "${c.user}"; account "${account.name}" allows ${prefs.join(', ')}`,
          {
            hint: refused.has('publickey')
              ? 'add the public key to the server account'
              : 'set authMethods (and privateKey for publickey) in the account',
          },
        );
        return next(false);
      }
      last = pick;
      this.log(`sftp: trying ${pick}${partialSuccess ? ' (partial success so far)' : ''}`);
      if (pick === 'publickey')
        return next({ type: 'publickey', username: c.user, key: key?.key, passphrase: key?.passphrase });
      if (pick === 'password') {
        // While keyboard-interactive is wanted too, the code goes there ("password+keyboard-interactive"
        // chains list only "password" first), so this is the bare password. Servers that take password
        // and code together over "password" need authMethods without keyboard-interactive.
        plainPassword = prefs.includes('keyboard-interactive') && c.password !== undefined;
        if (!plainPassword) c.sent = true;
        passwordSent = true;
        return next({
          type: 'password',
          username: c.user,
          password: plainPassword ? c.password : expandTemplate(account.template, c.vars),
        });
      }
      return next({
        type: 'keyboard-interactive',
        username: c.user,
        prompt: (
          _name: string,
          _instr: string,
          _lang: string,
          prompts: { prompt: string; echo?: boolean }[],
          finish: (answers: string[]) => void,
        ) => {
          try {
            const seen = responder.log.length;
            const answers = responder.answer(prompts);
            if (responder.log.slice(seen).some((p) => p.usesCode)) c.sent = true;
            finish(answers);
          } catch (e) {
            failure ??= e instanceof OtpBackupError ? withPromptHint(e) : (e as OtpBackupError);
            client.end();
          }
        },
      });
    };

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          client.removeAllListeners('ready');
          client.on('error', () => {}); // late errors of a dead attempt
          client.end();
          reject(err);
        } else resolve();
      };
      const onAbort = () => settle(signal?.reason ?? new OtpBackupError('interrupted', 'interrupted'));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });

      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (err) return settle(classifySftpError(err, `${where}: opening the SFTP session`));
          const software = (client as unknown as { _remoteVer?: string })._remoteVer;
          raiseLimits(sftp, software);
          this.client = client;
          this.sftp = sftp;
          this.lost = undefined;
          this.heard = performance.now();
          this.watchIdle();
          this.log(
            `sftp: connected to ${where} as ${c.user} (host key ${this.hostKey?.fingerprint} via ${this.hostKey?.source})`,
          );
          const onGone = (e?: Error) => {
            // A late event of a replaced connection must not mark the new one lost.
            if (this.client !== client) return;
            this.pool?.close(); // a channel open failing now is the loss, not a refusal
            if (!this.lost) this.lostOne();
            this.lost ??= e ?? new Error('connection closed');
            for (const fail of [...this.pendingCalls]) fail(this.lost);
          };
          client.on('close', () => onGone());
          client.on('error', onGone);
          sftp.on('close', () => onGone(new Error('SFTP session closed')));
          this.pool = new ChannelPool({
            first: sftp,
            max: channelsFor(this.tuning, software),
            open: () =>
              new Promise<SFTPWrapper>((res, rej) =>
                client.sftp((e, x) => {
                  if (e) return rej(e);
                  raiseLimits(x, software);
                  res(x);
                }),
              ),
            // One channel closing alone is as good as the connection lost: its requests get no answer.
            added: (x) => x.on('close', () => onGone(new Error('SFTP session closed'))),
            log: (l) => this.log(l),
          });
          settle();
        });
      });
      client.on('error', (e: SshError) => settle(failure ?? this.connectError(e, where)));
      client.on('close', () =>
        settle(
          failure ??
            new OtpBackupError('network', `${where} closed the connection during login`, { retryable: true }),
        ),
      );

      try {
        client.connect({
          sock,
          host: account.host,
          port: account.port,
          username: c.user,
          // --debug: ssh2's protocol log (message names, never the answers; masked all the same).
          ...(this.opts.trace ? { debug: (m: string) => this.log(`ssh: ${redact(m)}`) } : {}),
          algorithms: this.algorithms(),
          readyTimeout: (account.timeout ?? IO_TIMEOUT_S) * 1000,
          // A stalled connection (no reply to keepalives) is given up after about the account timeout.
          keepaliveInterval: Math.min(15_000, Math.max(1000, ((account.timeout ?? IO_TIMEOUT_S) * 1000) / 3)),
          keepaliveCountMax: 3,
          hostVerifier: (keyBlob: Buffer) => {
            try {
              this.hostKey = verifyHostKey(keyBlob, {
                host: account.host,
                port: account.port,
                env,
                trust: account.trust,
                pinned: this.opts.trustHostKeys,
              });
              return true;
            } catch (e) {
              failure ??= e as OtpBackupError;
              return false;
            }
          },
          // biome-ignore lint/suspicious/noExplicitAny: @types/ssh2 types authHandler's `next` too narrowly for "none"
          authHandler: authHandler as any,
        });
        // Nagle's algorithm against the server's delayed ACKs stalls every small request-reply
        // exchange by ~40 ms (one 4 KiB file at a time: 264 ms instead of 3 ms against ProFTPD).
        // OpenSSH sets TCP_NODELAY too.
        client.setNoDelay(true);
      } catch (e) {
        settle(new OtpBackupError('config', `${where}: ${(e as Error).message}`));
      }
    });
  }

  /**
   * Bytes per READ/WRITE: the tuning's, within the lengths the server accepts (limits@openssh.com
   * where offered, else ssh2's 34000-byte guess): ssh2 splits a longer request into pieces sent one
   * after the other, each waiting for the last one's reply.
   */
  private chunkFor(s: SFTPWrapper, which: '_maxWriteLen' | '_maxReadLen'): number {
    const max = (s as unknown as Record<string, number>)[which];
    return typeof max === 'number' && max > 0 ? Math.min(this.tuning.chunk, max) : this.tuning.chunk;
  }

  /** SSH_ALGORITHMS, with OTPBACKUP_SFTP_CIPHER (if one of them) offered first. */
  private algorithms(): ssh2.Algorithms {
    const first = this.tuning.cipher;
    if (!first) return SSH_ALGORITHMS;
    return { ...SSH_ALGORITHMS, cipher: { append: [], prepend: [first as never], remove: [] } };
  }

  private connectError(e: SshError, where: string): OtpBackupError {
    const level = e.level ?? '';
    if (level === 'client-authentication') {
      return new OtpBackupError('auth', `${where} refused the login`);
    }
    if (level === 'client-timeout') {
      return new OtpBackupError('network', `${where}: timed out waiting for the SSH handshake`, {
        retryable: true,
        hint: 'check the host and port, or raise the account timeout',
      });
    }
    if (level === 'handshake') {
      const downgrade = downgradeError(e.message, where);
      if (downgrade) return downgrade;
      return new OtpBackupError('network', `${where}: SSH handshake failed: ${e.message}`, {
        retryable: false,
      });
    }
    const code = typeof e.code === 'string' ? e.code : '';
    const hint =
      code === 'ECONNREFUSED'
        ? 'is the server running and is the port right?'
        : code === 'ENOTFOUND'
          ? 'check the host name'
          : undefined;
    return new OtpBackupError('network', `${where}: ${code || e.message}`, {
      retryable: code !== 'ENOTFOUND',
      hint,
    });
  }

  private session(): SFTPWrapper {
    if (this.lost || !this.sftp) {
      throw new OtpBackupError(
        'network',
        `${this.opts.account.host}:${this.opts.account.port}: not connected${this.lost ? ` (${this.lost.message})` : ''}`,
        {
          retryable: true,
        },
      );
    }
    return this.sftp;
  }

  /** True while `s` is a channel of the live connection. */
  private live(s: SFTPWrapper): boolean {
    return !this.lost && this.sftp !== undefined && (this.sftp === s || this.pool?.has(s) === true);
  }

  /** A channel for one file's requests (its handle is valid on that channel only); see release. */
  private acquire(): Channel {
    const s = this.session();
    return this.pool?.acquire() ?? { sftp: s, busy: 1 };
  }

  private release(c: Channel): void {
    this.pool?.release(c);
  }

  /** One SFTP request on `on` (default: the first channel), failed with the connection. */
  private call<T>(
    what: string,
    fn: (s: SFTPWrapper, cb: (err: Error | null | undefined, v?: T) => void) => void,
    on?: SFTPWrapper,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let s: SFTPWrapper;
      try {
        s = this.session();
        if (on) {
          if (!this.live(on))
            throw new OtpBackupError('network', `${what}: connection lost (channel replaced)`, {
              retryable: true,
            });
          s = on;
        }
      } catch (e) {
        return reject(e);
      }
      const fail = (lost: Error) => {
        this.pendingCalls.delete(fail);
        reject(
          new OtpBackupError('network', `${what}: connection lost (${lost.message})`, { retryable: true }),
        );
      };
      if (this.lost) return fail(this.lost);
      if (this.pendingCalls.size === 0) this.heard = performance.now(); // idle time is not silence
      this.pendingCalls.add(fail);
      const done = (err: Error | null | undefined, v?: T) => {
        if (!this.pendingCalls.delete(fail)) return; // already failed by the loss of the connection
        this.heard = performance.now();
        if (!err) {
          this.progressed();
          return resolve(v as T);
        }
        // Whatever ssh2 says about a request on a session that died meanwhile, it is a network fault.
        if (!this.live(s))
          return reject(
            new OtpBackupError('network', `${what}: connection lost (${(this.lost ?? err).message})`, {
              cause: err,
              retryable: true,
            }),
          );
        reject(classifySftpError(err, what));
      };
      try {
        fn(s, done);
      } catch (e) {
        done(e as Error);
      }
    });
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    const p = this.abs(remotePath);
    return this.op(`stat ${p}`, () => this.statRaw(p), undefined, dirname(p));
  }

  private async statRaw(p: string): Promise<RemoteEntry | undefined> {
    try {
      const a = await this.call<{ mode: number; size: number; mtime: number }>(`stat ${p}`, (s, cb) =>
        s.lstat(p, cb),
      );
      return {
        name: basename(p),
        path: p,
        type: entryType(a.mode),
        size: a.size,
        mtime: new Date(a.mtime * 1000),
      };
    } catch (e) {
      if (e instanceof OtpBackupError && (e.cause as SshError)?.code === SFTP_NO_SUCH_FILE) return undefined;
      throw e;
    }
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.abs(remoteDir);
    return this.op(`list ${dir}`, () => this.listRaw(dir), undefined, dir);
  }

  private async listRaw(dir: string): Promise<RemoteEntry[]> {
    const items = await this.call<
      { filename: string; attrs: { mode: number; size: number; mtime: number } }[]
    >(`list ${dir}`, (s, cb) => s.readdir(dir, cb as never));
    return items
      .filter((i) => i.filename !== '.' && i.filename !== '..')
      .map((i) => ({
        name: i.filename,
        path: join(dir, i.filename),
        type: entryType(i.attrs.mode),
        size: i.attrs.size,
        mtime: new Date(i.attrs.mtime * 1000),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async mkdirp(remoteDir: string): Promise<void> {
    const dir = this.abs(remoteDir);
    if (this.knownDirs.has(dir)) return;
    await this.op(`mkdir ${dir}`, () => this.mkdirpRaw(dir));
  }

  private async mkdirpRaw(dir: string): Promise<void> {
    const top = await this.statRaw(dir);
    if (top?.type === 'dir') {
      this.knownDirs.add(dir);
      return;
    }
    for (const d of ancestors(dir)) {
      if (this.knownDirs.has(d)) continue;
      const st = await this.statRaw(d);
      if (!st) {
        try {
          await this.call<void>(`mkdir ${d}`, (s, cb) => s.mkdir(d, cb));
        } catch (e) {
          // A concurrent put may have created it meanwhile.
          if ((await this.statRaw(d))?.type !== 'dir') throw this.explainDenied(e, d);
        }
      } else if (st.type !== 'dir') {
        throw new OtpBackupError('remote', `mkdir ${d}: a ${st.type} of that name exists`, {
          hint: 'move the remote file out of the way',
        });
      }
      this.knownDirs.add(d);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const a = this.abs(from);
    const b = this.abs(to);
    return this.op(`rename ${a}`, () => this.renameRaw(a, b), undefined, dirname(b));
  }

  private async renameRaw(a: string, b: string, on?: SFTPWrapper): Promise<void> {
    const s = on ?? this.session();
    // posix-rename replaces the target atomically; plain SFTP rename refuses an existing target.
    if (
      (s as unknown as { _extensions: Record<string, string> })._extensions['posix-rename@openssh.com'] !==
      undefined
    ) {
      await this.call<void>(`rename ${a} to ${b}`, (x, cb) => x.ext_openssh_rename(a, b, cb), on);
      return;
    }
    try {
      await this.call<void>(`rename ${a} to ${b}`, (x, cb) => x.rename(a, b, cb));
    } catch (e) {
      const target = await this.statRaw(b);
      if (!target || target.type === 'dir') throw e;
      await this.call<void>(`remove ${b}`, (x, cb) => x.unlink(b, cb));
      await this.call<void>(`rename ${a} to ${b}`, (x, cb) => x.rename(a, b, cb));
    }
  }

  async remove(remotePath: string): Promise<void> {
    const p = this.abs(remotePath);
    return this.op(`remove ${p}`, () => this.removeRaw(p), undefined, dirname(p));
  }

  private async removeRaw(p: string): Promise<void> {
    const st = await this.statRaw(p);
    if (!st) return;
    if (st.type === 'dir') {
      // Not recursive (the Transport contract): a non-empty directory fails here.
      await this.call<void>(`rmdir ${p}`, (s, cb) => s.rmdir(p, cb));
      for (const d of this.knownDirs) if (d === p || d.startsWith(`${p}/`)) this.knownDirs.delete(d);
      return;
    }
    await this.call<void>(`remove ${p}`, (s, cb) => s.unlink(p, cb));
  }

  async put(localPath: string, remotePath: string, opts: PutOptions = {}): Promise<void> {
    const target = this.abs(remotePath);
    let size: number;
    try {
      size = (await localStat(fsPath(localPath))).size;
    } catch (e) {
      throw new OtpBackupError('local', `cannot read ${localPath}: ${(e as Error).message}`, { cause: e });
    }
    if (opts.signal?.aborted) throw uploadInterrupted(`upload ${target}`);
    if (opts.signal) this.watchAbort(opts.signal);
    // A retry sends the whole file again under a new temp name; a lost temp file is removed later.
    // Only the first attempt may resume a killed run's temp file.
    let resume =
      opts.resumeFrom && opts.resumeAcked && size > RESUME_MIN
        ? { tmp: this.abs(opts.resumeFrom), acked: opts.resumeAcked }
        : undefined;
    await this.op(
      `upload ${target}`,
      () =>
        this.inWindow(() => {
          const r = resume;
          resume = undefined;
          return this.putOnce(localPath, target, size, opts, r);
        }, opts.signal),
      opts.signal,
      dirname(target),
    );
  }

  /** SFTP writes at any offset: a killed run's temp file of the same version is continued. */
  get canResume(): boolean {
    return true;
  }

  private async putOnce(
    localPath: string,
    target: string,
    size: number,
    opts: PutOptions,
    resume?: { tmp: string; acked: number },
  ): Promise<void> {
    // Exactly the size the engine saw is sent; growth or a rewrite since is for beforeCommit to see.
    const want = opts.size ?? size;
    const what = `upload ${target}`;
    let fd: number | undefined;
    let handle: Buffer | undefined;
    let tmp = '';
    // Every request of this file goes on one channel: its handle is valid there only.
    const ch = this.acquire();
    const s = ch.sftp;
    const failuresBefore = this.writeFailures;
    try {
      fd = await openLocal(localPath);
      const have = resume ? await this.resumableBytes(resume.tmp, resume.acked, fd, want) : 0;
      tmp =
        have > 0 && resume
          ? resume.tmp
          : (opts.temps?.next(target) ?? tempPathFor(target, this.opts.clock.now()));
      if (have > 0) this.log(`sftp: resuming ${target} at byte ${have} of ${want}`);
      // r+ keeps the bytes there (no truncate); a fresh temp is created empty.
      const h = await this.call<Buffer>(what, (x, cb) => x.open(tmp, have > 0 ? 'r+' : 'w', cb), s);
      handle = h;
      const tmpNow = tmp;
      let recorded = have;
      const chunk = this.chunkFor(s, '_maxWriteLen');
      const acked = await sendFile({
        fd,
        size: want,
        start: have,
        chunk,
        requests: requestsFor(this.tuning, chunk),
        what,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.limiter ? { limiter: opts.limiter } : {}),
        write: (buf, len, pos) =>
          this.call<void>(what, (x, cb) => x.write(h, buf, 0, len, pos, cb), s).catch((e: unknown) => {
            if (!(e instanceof OtpBackupError && e.code === 'network')) this.writeFailures++;
            throw e;
          }),
        onAck: (total) => {
          if (this.live(s)) this.progressed();
          opts.onProgress?.(total);
        },
        // Where a killed run may resume: one journal line per RESUME_STEP of acknowledged prefix.
        onPrefix: (prefix) => {
          if (want > RESUME_MIN && prefix - recorded >= RESUME_STEP && prefix < want) {
            recorded = prefix;
            opts.temps?.acked?.(tmpNow, prefix);
          }
        },
      });
      handle = undefined;
      // The mtime goes by handle (FSETSTAT) and CLOSE right behind it, one round trip for both, once
      // every WRITE is answered (a server may run requests out of order, but not before answering
      // them): open, write, fsetstat+close, rename instead of five round trips per small file.
      // FSTAT goes first in the same batch (no extra round trip): a WRITE answered OK may have
      // written less (ProFTPD, disk full), and the size the server holds is the check for that.
      const t = opts.mtime;
      const [held, timeSet, closed] = await Promise.allSettled([
        this.call<Stats>(what, (x, cb) => x.fstat(h, cb), s),
        t
          ? this.call<void>(`set time of ${target}`, (x, cb) => x.futimes(h, t, t, cb), s)
          : Promise.resolve(),
        this.call<void>(what, (x, cb) => x.close(h, cb), s),
      ]);
      if (closed.status === 'rejected') throw closed.reason;
      if (opts.signal?.aborted) throw uploadInterrupted(what);
      const onServer = held.status === 'fulfilled' ? held.value.size : (await this.statRaw(tmp))?.size;
      if (acked === want && onServer !== want) {
        throw new OtpBackupError(
          'remote',
          `${what}: the server holds ${onServer ?? 'no'} bytes of ${want} after answering every write (is its disk full?)`,
          { hint: 'free space on the server; the file is uploaded again on the next run' },
        );
      }
      if (this.writeFailures !== failuresBefore) {
        throw new OtpBackupError(
          'remote',
          `${what}: another write on this connection failed meanwhile (is the server's disk full?), so this one is not trusted`,
          { hint: 'free space on the server; the file is uploaded again on the next run' },
        );
      }
      if (acked !== want) {
        throw new OtpBackupError(
          'remote',
          `${what}: the server acknowledged ${acked} bytes, expected ${want}`,
          {
            hint: 'the file changed while it was read; it is uploaded again on the next run',
          },
        );
      }
      await opts.beforeCommit?.();
      if (t && timeSet.status === 'rejected') {
        // A server without FSETSTAT (or that refused it): by path, as before.
        await this.call<void>(`set time of ${target}`, (x, cb) => x.utimes(tmp, t, t, cb), s).catch((e) =>
          this.log(`sftp: ${(e as Error).message}`),
        );
      }
      await this.renameRaw(tmp, target, s);
      opts.temps?.gone(tmp);
    } catch (e) {
      // A temp file left behind (connection lost) stays in the temp journal; the engine removes it.
      if (!this.lost && tmp) {
        const h = handle;
        if (h) await this.call<void>('cleanup', (x, cb) => x.close(h, cb), s).catch(() => {});
        await this.call<void>('cleanup', (x, cb) => x.unlink(tmp, cb)).then(
          () => opts.temps?.gone(tmp),
          () => {},
        );
      }
      throw e;
    } finally {
      this.release(ch);
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * How many bytes of `tmp` (a killed upload's temp file of this same source version) can be kept:
   * the prefix the killed run recorded as acknowledged, when the file holds at least that much and
   * its last RESUME_CHECK bytes below that point are the same as here; 0 to start afresh. Any doubt
   * is 0: resuming is an optimisation. (ssh2 offers no hash extension such as check-file.)
   */
  private async resumableBytes(tmp: string, acked: number, fd: number, size: number): Promise<number> {
    if (acked <= 0 || acked >= size) return 0;
    try {
      const st = await this.statRaw(tmp);
      if (!st || st.type !== 'file' || st.size < acked) return 0;
      const len = Math.min(RESUME_CHECK, acked);
      const pos = acked - len;
      const theirs = Buffer.alloc(len);
      const h = await this.call<Buffer>(`resume check of ${tmp}`, (s, cb) => s.open(tmp, 'r', cb));
      try {
        let got = 0;
        while (got < len) {
          const n = await this.call<number>(`resume check of ${tmp}`, (s, cb) =>
            s.read(h, theirs, got, len - got, pos + got, (err, bytes) => cb(err, bytes)),
          );
          if (!n) return 0;
          got += n;
        }
      } finally {
        await this.call<void>('close', (s, cb) => s.close(h, cb)).catch(() => {});
      }
      const ours = Buffer.alloc(len);
      let got = 0;
      while (got < len) {
        const n = readSync(fd, ours, got, len - got, pos + got);
        if (n === 0) return 0;
        got += n;
      }
      return ours.equals(theirs) ? acked : 0;
    } catch (e) {
      if (this.lost) throw e;
      return 0;
    }
  }

  /**
   * After an abort, uploads stop sending and wait for the answers to their WRITEs in flight; on a
   * stalled link those may never come. One listener per signal (not one per put: 32 in flight):
   * whatever is still running after ABORT_GRACE_MS is cut with the connection.
   */
  private watchAbort(signal: AbortSignal): void {
    if (this.watched.has(signal)) return;
    this.watched.add(signal);
    signal.addEventListener(
      'abort',
      () => {
        const t = setTimeout(() => {
          if (this.inFlight > 0) this.cut('interrupted: the server did not answer in time');
        }, ABORT_GRACE_MS);
        t.unref();
      },
      { once: true },
    );
  }

  /** Gives up on the connection now: every request waiting for a reply fails. */
  private cut(reason: string): void {
    const c = this.client;
    if (!c || this.lost) return;
    this.lost = new Error(reason);
    this.log(`sftp: ${reason}; closing the connection`);
    for (const fail of [...this.pendingCalls]) fail(this.lost);
    c.destroy();
  }

  async get(remotePath: string, localPath: string, opts: GetOptions = {}): Promise<void> {
    // Like every other operation: "~/x" and relative names are below the login directory.
    const src = this.abs(remotePath);
    opts.signal?.throwIfAborted();
    await this.op(
      `download ${src}`,
      () => this.inWindow(() => this.getOnce(src, localPath, opts), opts.signal),
      opts.signal,
    );
  }

  private async getOnce(src: string, localPath: string, opts: GetOptions): Promise<void> {
    const what = `download ${src}`;
    const ch = this.acquire();
    const on = ch.sftp;
    try {
      const handle = await this.call<Buffer>(what, (s, cb) => s.open(src, 'r', cb), on);
      try {
        const size =
          opts.size ??
          (await this.call<{ size: number }>(what, (s, cb) => s.fstat(handle, cb as never), on)).size;
        await writeLocalAtomically(localPath, (fh) => this.readInto(on, handle, fh, size, opts, what), {
          expected: size,
          what,
          ...(opts.mtime ? { mtime: opts.mtime } : {}),
        });
      } finally {
        if (!this.lost) await this.call<void>('close', (s, cb) => s.close(handle, cb), on).catch(() => {});
      }
    } finally {
      this.release(ch);
    }
  }

  /**
   * Our own read loop (not ssh2's fastGet, whose loop cannot be stopped): up to tuning.requests reads
   * of tuning.chunk in flight, each written at its offset as it arrives, plus one read just past the
   * expected end, which must find EOF. Resolves with the bytes written; a remote file shorter than
   * expected resolves short (the caller's size check fails it), a longer one fails here.
   */
  private readInto(
    s: SFTPWrapper,
    handle: Buffer,
    fh: FileHandle,
    size: number,
    opts: GetOptions,
    what: string,
  ): Promise<number> {
    const chunk = this.chunkFor(s, '_maxReadLen');
    const requests = requestsFor(this.tuning, chunk);
    return new Promise<number>((resolve, reject) => {
      let next = 0;
      let inFlight = 0;
      let received = 0;
      let eof = false;
      let settled = false;
      const paced = new Set<() => void>();
      const finish = (e?: unknown) => {
        if (settled) return;
        settled = true;
        for (const cancel of paced) cancel();
        this.pendingCalls.delete(onLost);
        opts.signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(received);
      };
      const onLost = (lost: Error) =>
        finish(
          new OtpBackupError('network', `${what}: connection lost (${lost.message})`, { retryable: true }),
        );
      const onAbort = () => finish(opts.signal?.reason ?? new OtpBackupError('interrupted', 'interrupted'));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (this.pendingCalls.size === 0) this.heard = performance.now();
      this.pendingCalls.add(onLost);

      const settleIfDone = () => {
        if (!settled && inFlight === 0 && (next >= size || eof)) finish();
      };
      const readAt = (off: number, len: number, probe = false, counted = false) => {
        if (!counted) inFlight++;
        s.read(handle, Buffer.allocUnsafe(len), 0, len, off, (err, n, buf) => {
          if (settled) return;
          if (err) return finish(classifySftpError(err, what));
          if (this.live(s)) this.progressed();
          if (probe) {
            inFlight--;
            if (n > 0)
              return finish(
                new OtpBackupError('remote', `${what}: the remote file grew while it was read`, {
                  retryable: true,
                  hint: 'something is writing to it; run again',
                }),
              );
            return settleIfDone();
          }
          if (n === 0) {
            // EOF before the expected size: the file shrank. What was read is returned short.
            inFlight--;
            eof = true;
            return settleIfDone();
          }
          fh.write(buf, 0, n, off).then(
            () => {
              inFlight--;
              received += n;
              opts.onProgress?.(received);
              // A short read (servers may cap a reply) asks for the rest of that chunk.
              if (n < len) readAt(off + n, len - n);
              issue();
              settleIfDone();
            },
            (e) =>
              finish(
                new OtpBackupError('local', `${what}: cannot write locally (${writeFailure(e)})`, {
                  cause: e,
                }),
              ),
          );
        });
      };
      // --bwlimit: a READ is asked for only once the bucket has its bytes, so the server sends no
      // faster than the rate (the wait counts as in flight, keeping `requests` the cap).
      const limiter = opts.limiter;
      const issue = () => {
        while (!settled && !eof && inFlight < requests && next < size) {
          const len = Math.min(chunk, size - next);
          const off = next;
          next += len;
          if (!limiter) readAt(off, len);
          else {
            inFlight++;
            let went = false;
            let cancel: (() => void) | undefined;
            cancel = limiter.after(len, () => {
              went = true;
              if (cancel) paced.delete(cancel);
              if (!settled) readAt(off, len, false, true);
            });
            if (!went) paced.add(cancel);
          }
        }
      };
      readAt(size, 1, true);
      issue();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    const c = this.client;
    this.client = undefined;
    this.sftp = undefined;
    this.pool?.close();
    this.pool = undefined;
    if (!c) return;
    if (this.lost) {
      c.destroy(); // nothing to say goodbye to
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        c.destroy();
        resolve();
      }, 3000);
      c.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      c.end();
    });
  }
}
