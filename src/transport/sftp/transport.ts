// SFTP transport over ssh2: one SSH connection and one SFTP session for all files, several puts in
// flight at once. Login goes through the login discipline (fresh code per attempt, at most one retry);
// auth methods follow the server's partial-success list; host keys must be known or pinned.
// This file is the session (connect, shared reconnect, slow-start window, requests, idle watch) and
// the operations; its parts: auth.ts (login steps), hostkeys.ts, prompts.ts, jump.ts, channels.ts,
// tuning.ts, upload.ts (write loop), download.ts (read loop), errors.ts; retries: ../retry.ts.
import { closeSync, readSync } from 'node:fs';
import { stat as localStat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import ssh2, { type SFTPWrapper, type Stats } from 'ssh2';
import type { Account } from '../../config/types.js';
import { urlPathOfRemoteDir } from '../../config/url.js';
import { OtpBackupError } from '../../errors.js';
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
import { authSteps, loadKey } from './auth.js';
import { type Channel, ChannelPool } from './channels.js';
import { type ReadLink, readInto } from './download.js';
import {
  classifySftpError,
  connectError,
  entryType,
  SFTP_NO_SUCH_FILE,
  SFTP_PERMISSION_DENIED,
  type SshError,
} from './errors.js';
import { type HostKeyVerdict, verifyHostKey } from './hostkeys.js';
import { throughJump } from './jump.js';
import type { PromptLogEntry } from './prompts.js';
import { SSH_ALGORITHMS } from './ssh-algorithms.js';
import { channelsFor, corkPerTick, raiseLimits, requestsFor, type SftpTuning, sftpTuning } from './tuning.js';
import { openLocal, sendFile } from './upload.js';

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
    if (this.key === null)
      this.key = account.privateKey ? await loadKey(account, this.opts.getSecret) : undefined;
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

  /** One login attempt on a new connection; resolves once the SFTP session is open. */
  private async attempt(
    c: Credentials,
    key: { key: Buffer; passphrase?: string } | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { account } = this.opts;
    if (account.jump)
      return this.handshake(
        c,
        key,
        await throughJump(account, account.jump, {
          env: this.opts.env,
          trustHostKeys: this.opts.trustHostKeys,
          signal,
        }),
        signal,
      );
    // Reached and speaking SSH first (short timeouts, the wrong protocol named), then the handshake.
    const sock = await openSshSocket(account.host, account.port, {
      ...reachTimeouts(account),
      account: account.name,
      ...(signal ? { signal } : {}),
    });
    return this.handshake(c, key, sock, signal);
  }

  private handshake(
    c: Credentials,
    key: { key: Buffer; passphrase?: string } | undefined,
    sock: Socket,
    signal?: AbortSignal,
  ): Promise<void> {
    const { account, env } = this.opts;
    const where = `${account.host}:${account.port}`;
    if (this.tuning.cork) corkPerTick(sock);
    const client = new Client();
    const auth = authSteps({
      account,
      c,
      key,
      where,
      promptLog: this.promptLog,
      log: (l) => this.log(l),
      end: () => client.end(),
    });

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
      client.on('error', (e: SshError) => settle(auth.failure ?? connectError(e, where)));
      client.on('close', () =>
        settle(
          auth.failure ??
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
              auth.failure ??= e as OtpBackupError;
              return false;
            }
          },
          // biome-ignore lint/suspicious/noExplicitAny: @types/ssh2 types authHandler's `next` too narrowly for "none"
          authHandler: auth.handler as any,
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
    // The engine passes the size it saw (one lstat per file already); only a bare put() stats here.
    let size: number;
    try {
      size = opts.size ?? (await localStat(fsPath(localPath))).size;
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
      if (st?.type !== 'file' || st.size < acked) return 0;
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
        const chunk = this.chunkFor(on, '_maxReadLen');
        const link: ReadLink = {
          chunk,
          requests: requestsFor(this.tuning, chunk),
          watchLoss: (fail) => {
            if (this.pendingCalls.size === 0) this.heard = performance.now();
            this.pendingCalls.add(fail);
            return () => this.pendingCalls.delete(fail);
          },
          answered: (x) => {
            if (this.live(x)) this.progressed();
          },
        };
        await writeLocalAtomically(localPath, (fh) => readInto(on, handle, fh, size, opts, what, link), {
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
