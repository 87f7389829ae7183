// FTP, explicit FTPS (AUTH TLS) and implicit FTPS with basic-ftp: the Transport (session, operations,
// the login with the code folded into the password). One control connection, one command at a time
// (concurrency 1); uploads go to a temporary name, are size-checked, then renamed. Its parts:
// session.ts (connect, AUTH TLS, settings), tls.ts, data-trust.ts, pipeline.ts, pool.ts, mtimes.ts,
// errors.ts, listing.ts, local-source.ts; basic-ftp internals only via basic-ftp-internals.ts.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { Client, type FileInfo, FTPError } from 'basic-ftp';
import type { Account } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import { expandTemplate } from '../../otp/index.js';
import { decodeRaw, fsPath } from '../../scan/raw-name.js';
import type { Clock } from '../../schedule/clock.js';
import { redact } from '../../secrets/redact.js';
import { ABORT_GRACE_MS, untilAborted, uploadInterrupted } from '../abort.js';
import { throttledReadable, throttledWritable } from '../bwlimit.js';
import { handleWriter, writeLocalAtomically } from '../local-file.js';
import { type CredentialSource, type Credentials, loginWithDiscipline } from '../login.js';
import { IO_TIMEOUT_S } from '../reach.js';
import { ancestors, basename, dirname, resolveRemote, validateRemotePath } from '../remote-path.js';
import { retrying } from '../retry.js';
import { tempPathFor } from '../temp.js';
import type {
  GetOptions,
  HashAlgorithm,
  Hasher,
  ModTimer,
  MtimeKeeper,
  PutOptions,
  RemoteEntry,
  Transport,
} from '../types.js';
import {
  contextOf,
  controlSocket,
  dataSocket,
  hasTLS,
  setDataTlsOptions,
  setEncoding,
  setProtocolLogger,
} from './basic-ftp-internals.js';
import { guardPinnedDataSockets } from './data-trust.js';
import { classifyFtpError } from './errors.js';
import { entryFrom, lastLine, mfmtTime, mlstFacts, mlstTime } from './listing.js';
import { lateEmptyStream, readSmallFile, sha256Prefix } from './local-source.js';
import { MtimeCache } from './mtimes.js';
import {
  awaitFinalReply,
  epsvPort,
  pipelined,
  releasePrefetchedPort,
  sizeFromReply,
  usesEpsv,
  withPrefetchedPort,
} from './pipeline.js';
import { greet, sendRawNames, settle, startTls } from './session.js';
import { certFingerprint, normalizeFingerprint, tlsOptionsFor, verifyPeer } from './tls.js';

export interface FtpTransportOptions {
  account: Account;
  credentials: CredentialSource;
  clock: Clock;
  log?: (line: string) => void;
  /** Log every command and reply (PASS is masked by basic-ftp, everything goes through redact()). */
  trace?: boolean;
  /** Send NOOP after this much idle time (ms) so servers and NAT boxes keep the session; 0 = off. */
  keepAliveMs?: number;
  /** Reconnects per operation after a network fault. */
  maxRetries?: number;
  /**
   * Runs each login (the whole disciplined attempt) inside it: a pool of sessions sharing one
   * credential source passes a mutex, so two logins never interleave their claims of a step.
   */
  loginGate?: <T>(login: () => Promise<T>) => Promise<T>;
  /** An optional extra session (ftp/pool.ts): a refused login is final and a network fault not retried. */
  extraSession?: boolean;
  /** MDTM answers fetched ahead (ftp/mtimes.ts); a pool's sessions share one. */
  mtimes?: MtimeCache;
}

export class FtpTransport implements Transport, Hasher, ModTimer, MtimeKeeper {
  readonly concurrency = 1;
  private readonly account: Account;
  private readonly clock: Clock;
  private readonly credentials: CredentialSource;
  private readonly logLine: (line: string) => void;
  private readonly trace: boolean;
  private readonly keepAliveMs: number;
  private readonly maxRetries: number;
  private readonly loginGate: <T>(login: () => Promise<T>) => Promise<T>;
  private readonly extraSession: boolean;
  private readonly mtimes: MtimeCache;
  private client: Client | undefined;
  private features = new Map<string, string>();
  private home = '/';
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private lastActivity = 0;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private warned = new Set<string>();
  private closed = false;
  /** An APPE failed: no more resuming on this transport (a refusal costs a reconnect with basic-ftp). */
  private appendRefused = false;
  get canResume(): boolean {
    return !this.appendRefused;
  }
  /** A passive port the last upload's commit group asked for; good only for the very next operation. */
  private prefetched: { client: Client; port: number } | undefined;

  constructor(opts: FtpTransportOptions) {
    this.account = opts.account;
    this.clock = opts.clock;
    this.credentials = opts.credentials;
    this.logLine = opts.log ?? (() => {});
    this.trace = opts.trace ?? false;
    this.keepAliveMs = opts.keepAliveMs ?? 60_000;
    this.maxRetries = opts.maxRetries ?? opts.account.retries ?? 3;
    this.loginGate = opts.loginGate ?? ((login) => login());
    this.extraSession = opts.extraSession ?? false;
    this.mtimes = opts.mtimes ?? new MtimeCache();
  }

  private get where(): string {
    return `${this.account.host}:${this.account.port}`;
  }

  private log(line: string): void {
    this.logLine(redact(line));
  }

  private warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log(`warning: ${line}`);
  }

  // ---- connection -------------------------------------------------------------------------

  async connect(signal?: AbortSignal): Promise<void> {
    this.closed = false;
    await this.serial(() => this.reconnect(signal));
  }

  private async reconnect(signal?: AbortSignal): Promise<Client> {
    this.dropClient();
    const client = await this.loginGate(() =>
      loginWithDiscipline(this.credentials, (c) => this.open(c, signal), {
        clock: this.clock,
        signal,
        ...(this.extraSession
          ? { retryRefused: false, maxNetworkRetries: 0 }
          : this.account.retries !== undefined
            ? { maxNetworkRetries: this.account.retries }
            : {}),
      }),
    );
    this.client = client;
    this.lastActivity = Date.now();
    this.startKeepAlive();
    return client;
  }

  private async open(c: Credentials, signal?: AbortSignal): Promise<Client> {
    const a = this.account;
    const client = new Client((a.timeout ?? IO_TIMEOUT_S) * 1000);
    // Replacing log() bypasses basic-ftp's own verbose check: the protocol is for --debug only.
    setProtocolLogger(client, this.trace, (msg: string) => {
      if (this.trace) this.log(`ftp: ${msg.trimEnd()}`);
    });
    sendRawNames(client);
    const abort = () => client.close();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const secure = a.protocol === 'ftps' || a.protocol === 'ftps-implicit';
      const tlsOpts = secure ? tlsOptionsFor(a) : undefined;
      await greet(client, a, tlsOpts);
      if (a.protocol === 'ftps') await startTls(client, this.where, tlsOpts);
      if (secure) {
        verifyPeer(a, controlSocket(client) as TLSSocket, (k, l) => this.warnOnce(k, l));
        // Data connections resume the verified control session; where they do not, verify them too.
        const t = a.trust ?? {};
        setDataTlsOptions(client, {
          ...tlsOpts,
          rejectUnauthorized: !t.insecureSkipVerify && !t.tlsFingerprints?.length,
        });
        // Pinned (maybe self-signed or expired): each data connection must show the pinned certificate.
        if (!t.insecureSkipVerify && t.tlsFingerprints?.length) {
          const pins = new Set(t.tlsFingerprints.map(normalizeFingerprint));
          guardPinnedDataSockets(contextOf(client), this.where, (s) => {
            const fp = certFingerprint(s.getPeerCertificate());
            return { fingerprint: fp, pinned: fp !== undefined && pins.has(normalizeFingerprint(fp)) };
          });
        }
      } else {
        this.warnOnce(
          'clear',
          `account ${a.name} uses plain FTP: the password and the one-time code travel unencrypted`,
        );
      }
      const pass = expandTemplate(a.template, c.vars);
      if (/[\r\n\0]/.test(c.user))
        throw new OtpBackupError('config', `accounts.${a.name}.user contains a line break or NUL`);
      await client.sendIgnoringError('OPTS UTF8 ON');
      c.sent = true; // from here on the code may have reached the server
      await client.login(c.user, pass);
      ({ features: this.features, home: this.home } = await settle(client));
      return client;
    } catch (e) {
      client.close();
      if (signal?.aborted) throw signal.reason;
      throw this.classify(e, `login to ${this.where}`, true);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  private dropClient(): void {
    if (this.client && !this.client.closed) this.client.close();
    this.client = undefined;
  }

  private startKeepAlive(): void {
    if (this.keepAliveTimer || this.keepAliveMs <= 0) return;
    this.keepAliveTimer = setInterval(
      () => {
        if (this.busy > 0 || !this.client || this.client.closed) return;
        if (Date.now() - this.lastActivity < this.keepAliveMs) return;
        void this.serial(async () => {
          // A failed NOOP just drops the client; the next operation reconnects.
          await this.client?.send('NOOP').catch(() => this.dropClient());
          this.lastActivity = Date.now();
        });
      },
      Math.max(1000, Math.floor(this.keepAliveMs / 4)),
    );
    this.keepAliveTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    await this.serial(async () => {
      const client = this.client;
      const pre = this.prefetched;
      this.client = undefined;
      this.prefetched = undefined;
      if (!client || client.closed) return;
      // The last upload's prefetched port: no transfer will use it; free the server's listener.
      if (pre?.client === client) await releasePrefetchedPort(client, pre.port);
      // Polite QUIT, but never hang on a dead server.
      await Promise.race([
        client.send('QUIT').catch(() => {}),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
      client.close();
    });
  }

  // ---- error handling ---------------------------------------------------------------------

  /** Maps basic-ftp, socket and TLS errors to OtpBackupError (errors.ts). `login`: a 530 means the login was refused. */
  classify(e: unknown, what: string, login = false): OtpBackupError {
    return classifyFtpError(e, what, { where: this.where, user: this.account.user, login });
  }
  // ---- operation plumbing -----------------------------------------------------------------

  /** One FTP command sequence at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.busy++;
      try {
        return await fn();
      } finally {
        this.busy--;
      }
    });
    this.queue = run.catch(() => {});
    return run;
  }

  /** Runs `fn` on a logged-in client; a network fault reconnects (same login discipline) and retries. */
  private op<T>(
    what: string,
    fn: (c: Client, prefetchedPort: number | undefined) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    return this.serial(async () => {
      if (this.closed) throw new OtpBackupError('internal', `${what}: the transport is closed`);
      // Any operation ends the prefetched port's life: after other commands (a LIST's own EPSV) the
      // port may be closed, or even reused by another session's listener.
      let pre = this.prefetched;
      this.prefetched = undefined;
      // Retryable: network faults, and an upload the server got short (a data connection cut
      // mid-transfer can look like a clean end to the server) — sent again, not failed.
      return retrying(
        async () => {
          const client = this.client && !this.client.closed ? this.client : await this.reconnect(signal);
          // An aborted operation gets a moment to wind down (an upload ends its data early and drops
          // its temp file; a commit completes) before the connection is cut.
          let cut: NodeJS.Timeout | undefined;
          const abort = () => {
            cut = setTimeout(() => client.close(), ABORT_GRACE_MS);
          };
          signal?.addEventListener('abort', abort, { once: true });
          const port = pre?.client === client ? pre.port : undefined;
          pre = undefined;
          try {
            const r = await fn(client, port);
            this.lastActivity = Date.now();
            return r;
          } catch (e) {
            if (signal?.aborted) throw signal.reason;
            throw this.classify(e, what);
          } finally {
            clearTimeout(cut);
            signal?.removeEventListener('abort', abort);
          }
        },
        {
          budget: this.maxRetries,
          clock: this.clock,
          ...(signal ? { signal } : {}),
          onRetry: (err, tries) => {
            if (err.code === 'network') {
              this.log(`${err.message}; reconnecting (${tries + 1}/${this.maxRetries})`);
              this.dropClient();
            } else this.log(`${err.message}; retrying (${tries + 1}/${this.maxRetries})`);
          },
        },
      );
    });
  }

  /** Absolute path on the server: "~/x" and relative paths are below the login directory (PWD). */
  private abs(path: string): string {
    return resolveRemote(validateRemotePath(path), this.home);
  }

  private async isDir(client: Client, path: string): Promise<boolean> {
    const r = await client.sendIgnoringError(`CWD ${path}`);
    return r.code < 400;
  }

  private async statWith(client: Client, path: string): Promise<RemoteEntry | undefined> {
    if (path === '/') return { name: '/', path: '/', type: 'dir', size: 0 };
    if (this.features.has('MLST')) {
      const r = await client.sendIgnoringError(`MLST ${path}`);
      if (r.code >= 400) return undefined;
      const line = r.message.split(/\r?\n/).find((l) => l.startsWith(' '));
      if (line) {
        const { facts } = mlstFacts(line);
        const t = facts.get('type')?.toLowerCase() ?? '';
        const type: RemoteEntry['type'] =
          t === 'file'
            ? 'file'
            : t === 'dir' || t === 'cdir' || t === 'pdir'
              ? 'dir'
              : t.startsWith('os.unix=symlink') || t.startsWith('os.unix=slink')
                ? 'link'
                : 'other';
        const e: RemoteEntry = { name: basename(path), path, type, size: Number(facts.get('size') ?? 0) };
        const mtime = mlstTime(facts.get('modify'));
        if (mtime) e.mtime = mtime;
        return e;
      }
    }
    // No MLST: look the name up in its parent's listing.
    let entries: RemoteEntry[];
    try {
      entries = await this.listWith(client, dirname(path));
    } catch (e) {
      if (e instanceof FTPError && e.code >= 450 && e.code < 560) return undefined;
      throw e;
    }
    return entries.find((x) => x.name === basename(path));
  }

  private async listWith(client: Client, dir: string): Promise<RemoteEntry[]> {
    // basic-ftp decodes the listing with the connection's encoding: latin1 keeps every byte, and
    // decodeRaw then gives valid UTF-8 names as text and any other bytes as escapes (#14.2).
    // Commands are written as UTF-8 meanwhile (sendRawNames); replies are ASCII where it matters.
    setEncoding(client, 'latin1');
    let files: FileInfo[];
    try {
      files = await client.list(dir);
    } finally {
      if (!client.closed) setEncoding(client, 'utf8');
    }
    for (const f of files) f.name = decodeRaw(Buffer.from(f.name, 'latin1'));
    const out = files
      .filter((f) => f.name !== '.' && f.name !== '..')
      .map((f) => entryFrom(dir, f))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.mtimes.noteListing(
      dir,
      out.filter((e) => e.type === 'file' && !e.mtime).map((e) => e.path),
    );
    return out;
  }

  /**
   * RNFR+RNTO in one round trip; where the server refuses to overwrite, removes the old file first.
   * With `prefetch` an EPSV rides along for the next upload; resolves with its port, if usable.
   */
  private async renameWith(
    client: Client,
    from: string,
    to: string,
    prefetch = false,
  ): Promise<number | undefined> {
    try {
      const [rnfr, rnto, epsv] = await pipelined(client, [
        `RNFR ${from}`,
        `RNTO ${to}`,
        ...(prefetch ? ['EPSV'] : []),
      ]);
      // A refused RNFR makes the RNTO fail too ("bad sequence"): the RNFR reply is the cause.
      if (rnfr instanceof FTPError) throw rnfr;
      if (rnto instanceof FTPError) throw rnto;
      return epsvPort(epsv);
    } catch (e) {
      if (!(e instanceof FTPError) || e.code < 550) throw e;
      const old = await this.statWith(client, to);
      if (!old || old.type === 'dir') throw e;
      await client.remove(to);
      await client.rename(from, to);
      return undefined;
    }
  }

  // ---- Transport --------------------------------------------------------------------------

  async put(localPath: string, remotePath: string, opts: PutOptions = {}): Promise<void> {
    validateRemotePath(remotePath);
    const { size, small } = readSmallFile(localPath);
    const expected = opts.size ?? size;
    const final = this.abs(remotePath);
    // Only the first attempt may resume: a retry starts afresh under a new name.
    let resumeFrom = small || !opts.resumeFrom || this.appendRefused ? undefined : this.abs(opts.resumeFrom);
    this.mtimes.forget();
    const limiter = opts.limiter;
    const paced = (r: Readable): Readable => (limiter ? throttledReadable(r, limiter, opts.signal) : r);
    await this.op(
      `upload of ${final}`,
      async (client, prefetchedPort) => {
        const from = resumeFrom;
        resumeFrom = undefined;
        const have = from ? await this.resumableBytes(client, from, localPath, size) : 0;
        const tmp =
          have > 0 && from ? from : (opts.temps?.next(final) ?? tempPathFor(final, this.clock.now()));
        let tmpMayExist = false;
        try {
          if (opts.onProgress) {
            const onProgress = opts.onProgress;
            client.trackProgress((info) => onProgress(have + info.bytes));
          }
          tmpMayExist = true;
          // Ctrl-C / SIGTERM: close the data connection now; the STOR ends with a short temp file.
          // Not resetAndDestroy(), though it would discard the bytes still in the socket buffers:
          // with a write pending it can leave Node spinning at exit (seen: 100 % CPU in
          // CleanupHandles, the process never ends, the job lock held). On a slow link those
          // buffers drain before the server's reply; the grace below bounds that.
          const cutData = () => dataSocket(client)?.destroy();
          opts.signal?.addEventListener('abort', cutData, { once: true });
          try {
            if (have > 0) {
              this.log(`ftp ${this.account.name}: resuming ${final} at byte ${have} of ${size}`);
              // The SIZE/HASH above used the prefetched port's turn: no withPrefetchedPort here.
              try {
                await client.appendFrom(
                  paced(
                    untilAborted(
                      createReadStream(fsPath(localPath), {
                        highWaterMark: 1024 * 1024,
                        start: have,
                        end: size - 1,
                      }),
                      opts.signal,
                    ),
                  ),
                  tmp,
                );
              } catch (e) {
                // ProFTPD refuses APPE by default (AllowStoreRestart off: "451 Append/Restart not
                // permitted"), and basic-ftp then drops the session for the reset data connection.
                // Whatever the cause, this transport stops resuming; the retry sends the whole file.
                if (!opts.signal?.aborted) this.appendRefused = true;
                throw e;
              }
            } else {
              await withPrefetchedPort(client, from ? undefined : prefetchedPort, () =>
                client.uploadFrom(
                  size === 0 && hasTLS(client)
                    ? lateEmptyStream()
                    : small
                      ? paced(Readable.from([small], { objectMode: false }))
                      : // 1 MiB reads: the 64 KiB default costs a syscall and an event-loop turn per 64 KiB.
                        // `end` spares the read that finds EOF; growth past `size` waits for the next run
                        // (and a shrunk file just ends early): the checks below catch both, never a hang.
                        paced(
                          untilAborted(
                            createReadStream(fsPath(localPath), {
                              highWaterMark: 1024 * 1024,
                              end: size - 1,
                            }),
                            opts.signal,
                          ),
                        ),
                  tmp,
                ),
              );
            }
          } catch (e) {
            if (!opts.signal?.aborted || client.closed) throw e;
            // The STOR's reply is still to come: read it before the DELE below, or close.
            if (!(await awaitFinalReply(client, ABORT_GRACE_MS))) client.close();
            throw uploadInterrupted(`upload of ${final}`);
          } finally {
            opts.signal?.removeEventListener('abort', cutData);
          }
          client.trackProgress();
          if (opts.signal?.aborted) throw uploadInterrupted(`upload of ${final}`);
          // Two round trips for the tail, not four: SIZE (verify) with MFMT (on the temp; a rename
          // keeps it), then RNFR with RNTO — the commit — once the size is right.
          const mfmt = opts.mtime && this.features.has('MFMT') ? [`MFMT ${mfmtTime(opts.mtime)} ${tmp}`] : [];
          const [sizeReply] = await pipelined(client, [`SIZE ${tmp}`, ...mfmt]);
          if (!sizeReply || sizeReply instanceof FTPError) throw sizeReply;
          // No number in the reply (ftp-srv for empty files): the listing knows.
          const got = sizeFromReply(sizeReply) ?? (await this.statWith(client, tmp))?.size;
          // Before the size verdict: a file that changed while it was read is reported as such
          // (not retried), and a file rewritten to the same size never reaches the commit.
          await opts.beforeCommit?.();
          if (got !== expected) {
            throw new OtpBackupError(
              'remote',
              `upload of ${final}: the server has ${got} bytes, expected ${expected}`,
              {
                retryable: true,
                hint: 'the file may have changed while it was read; run again',
              },
            );
          }
          if (opts.signal?.aborted) throw uploadInterrupted(`upload of ${final}`);
          const next = await this.renameWith(client, tmp, final, usesEpsv(client));
          tmpMayExist = false;
          opts.temps?.gone(tmp);
          if (next !== undefined) this.prefetched = { client, port: next };
        } catch (e) {
          client.trackProgress();
          // Best effort: a temp file left behind stays in the temp journal; the engine removes it.
          if (tmpMayExist && !client.closed) {
            const r = await client.remove(tmp, true).catch(() => undefined);
            if (r && r.code < 400) opts.temps?.gone(tmp);
          }
          throw e;
        }
      },
      opts.signal,
    );
  }

  async get(remotePath: string, localPath: string, opts: GetOptions = {}): Promise<void> {
    const src = this.abs(remotePath);
    const what = `download of ${src}`;
    await this.op(
      what,
      async (client, prefetchedPort) => {
        let expected = opts.size;
        if (expected === undefined) {
          const r = await client.sendIgnoringError(`SIZE ${src}`);
          expected = r.code < 400 ? sizeFromReply(r) : undefined;
          if (expected === undefined) {
            const st = await this.statWith(client, src);
            if (st?.type !== 'file')
              throw new OtpBackupError('remote', `${what}: no such file`, {
                hint: 'check the path with `otpbackup ls`',
              });
            expected = st.size;
          }
        }
        await writeLocalAtomically(
          localPath,
          async (fh) => {
            if (opts.onProgress) {
              const onProgress = opts.onProgress;
              client.trackProgress((info) => onProgress(info.bytes));
            }
            try {
              const limiter = opts.limiter;
              const out = limiter
                ? throttledWritable(handleWriter(fh), limiter, opts.signal)
                : handleWriter(fh);
              await withPrefetchedPort(client, prefetchedPort, () => client.downloadTo(out, src));
            } finally {
              client.trackProgress();
            }
            return (await fh.stat()).size;
          },
          { expected, what, ...(opts.mtime ? { mtime: opts.mtime } : {}) },
        );
      },
      opts.signal,
    );
  }

  /** Uploads get their mtime only where the server has MFMT (known once connected). */
  keepsMtime(): boolean {
    return this.features.has('MFMT');
  }

  /**
   * `MDTM`: "213 YYYYMMDDHHMMSS" in UTC (RFC 3659). The first call in a listed directory asks for
   * the files listed after it too, in one write (ftp/mtimes.ts); the next calls are answered from that.
   */
  async modTime(remotePath: string): Promise<Date | undefined> {
    const p = this.abs(remotePath);
    const held = this.mtimes.take(p);
    if (held.hit) return held.mtime;
    return this.op(`modification time of ${p}`, async (client) => {
      const batch = this.mtimes.batchFor(p, dirname(p));
      const replies = await pipelined(
        client,
        batch.map((x) => `MDTM ${x}`),
      );
      const times = replies.map((r) =>
        r instanceof FTPError || r.code !== 213
          ? undefined
          : mlstTime(lastLine(r.message).replace(/^213\s+/, '')),
      );
      for (let i = 1; i < batch.length; i++) this.mtimes.store(batch[i]!, times[i]);
      return times[0];
    });
  }

  /** Algorithms from FEAT: `HASH SHA-256*;SHA-1;MD5` (draft-bryan-ftpext-hash) or mod_digest's X* commands. */
  hashAlgorithms(): HashAlgorithm[] {
    const out: HashAlgorithm[] = [];
    const listed = (this.features.get('HASH') ?? '').toUpperCase();
    const has = (name: string, x: string) => listed.includes(name) || this.features.has(x);
    if (has('SHA-256', 'XSHA256')) out.push('sha256');
    if (has('SHA-1', 'XSHA1')) out.push('sha1');
    if (has('MD5', 'XMD5')) out.push('md5');
    return out;
  }

  async hash(remotePath: string, algo: HashAlgorithm): Promise<string | undefined> {
    const p = this.abs(remotePath);
    const name = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5' }[algo];
    return this.op(`hash of ${p}`, async (client) => {
      if (this.features.has('HASH')) {
        const o = await client.sendIgnoringError(`OPTS HASH ${name}`);
        if (o.code < 400) {
          // "213 SHA-256 0-1234 <hex> <path>"
          const r = await client.sendIgnoringError(`HASH ${p}`);
          const m = r.code < 400 ? /^213\s+\S+\s+\S+\s+([0-9a-f]+)\s/i.exec(`${lastLine(r.message)} `) : null;
          if (m) return m[1]!.toLowerCase();
        }
      }
      const x = `X${name.replace('-', '')}`;
      if (!this.features.has(x)) return undefined;
      // "250 <hex>" (mod_digest), some servers add the path after the digest.
      const r = await client.sendIgnoringError(`${x} ${p}`);
      const m = r.code < 400 ? /^\d{3}\s+([0-9a-f]{32,128})\b/i.exec(lastLine(r.message)) : null;
      return m ? m[1]!.toLowerCase() : undefined;
    });
  }

  /**
   * How many bytes of `tmp` (a killed upload's temp file of this same source version) can be kept:
   * its size, when that is less than the file's and the server's hash of it (HASH, where offered)
   * matches the same bytes here; 0 to start afresh. Any doubt is 0: resuming is an optimisation.
   */
  private async resumableBytes(
    client: Client,
    tmp: string,
    localPath: string,
    size: number,
  ): Promise<number> {
    const r = await client.sendIgnoringError(`SIZE ${tmp}`);
    const have = r.code === 213 ? sizeFromReply(r) : undefined;
    if (have === undefined || have <= 0 || have >= size) return 0;
    if (!this.features.has('HASH')) return have;
    const algo = /SHA-256/i.test(this.features.get('HASH') ?? '') ? 'SHA-256' : undefined;
    if (!algo || (await client.sendIgnoringError(`OPTS HASH ${algo}`)).code >= 400) return have;
    const h = await client.sendIgnoringError(`HASH ${tmp}`);
    // "213 SHA-256 0-1048575 <hex> <name>" (draft-bryan-ftpext-hash)
    // The end point is exclusive in the draft's examples and inclusive in some servers: accept both.
    const m = /^213 \S+ (\d+)-(\d+) ([0-9a-f]+) /im.exec(h.message); // may follow "213-Computing…"
    const end = Number(m?.[2]);
    if (h.code !== 213 || !m?.[3] || Number(m[1]) !== 0 || (end !== have && end + 1 !== have)) return 0;
    return m[3].toLowerCase() === (await sha256Prefix(localPath, have)) ? have : 0;
  }

  async mkdirp(remoteDir: string): Promise<void> {
    const dir = this.abs(remoteDir);
    await this.op(`creating remote directory ${dir}`, async (client) => {
      if (dir === '/' || (await this.isDir(client, dir))) return;
      for (const p of ancestors(dir)) {
        if (await this.isDir(client, p)) continue;
        const r = await client.sendIgnoringError(`MKD ${p}`);
        if (r.code >= 400 && !(await this.isDir(client, p))) {
          throw new OtpBackupError(
            'remote',
            `cannot create remote directory ${p} (${redact(r.message.trim())})`,
            {
              hint: 'check that the account may write there',
            },
          );
        }
      }
    });
  }

  async stat(remotePath: string): Promise<RemoteEntry | undefined> {
    const p = this.abs(remotePath);
    return this.op(`stat of ${p}`, (client) => this.statWith(client, p));
  }

  async list(remoteDir: string): Promise<RemoteEntry[]> {
    const dir = this.abs(remoteDir);
    // A listing right after an upload (the run's final checks) takes the port the upload prefetched:
    // one round trip less, and no listener abandoned on the server.
    return this.op(`listing of ${dir}`, (client, port) =>
      withPrefetchedPort(client, port, () => this.listWith(client, dir)),
    );
  }

  async rename(from: string, to: string): Promise<void> {
    const f = this.abs(from);
    const t = this.abs(to);
    this.mtimes.forget();
    await this.op(`rename of ${f} to ${t}`, (client) => this.renameWith(client, f, t));
  }

  /** Removes a file or an empty directory; a path that does not exist is not an error. */
  async remove(remotePath: string): Promise<void> {
    const p = this.abs(remotePath);
    this.mtimes.forget();
    await this.op(`removal of ${p}`, async (client) => {
      const r = await client.sendIgnoringError(`DELE ${p}`);
      if (r.code < 400) return;
      const r2 = await client.sendIgnoringError(`RMD ${p}`);
      if (r2.code < 400) return;
      if (!(await this.statWith(client, p))) return;
      throw new OtpBackupError('remote', `cannot remove ${p} (${redact(r.message.trim())})`, {
        hint: 'check permissions; directories must be empty',
      });
    });
  }
}
