// Several FTP control connections behind one Transport (issue #18): FTP runs one transfer per
// session, so many small files are bound by round trips and the server's per-command work, not by
// bandwidth. Where the account accepts a reused code (otp.reuse: allow) the extra sessions log in
// with the code of the same step — one code, several sessions, as lftp -P does with a static
// password. Where it does not, extra sessions exist only when the user asks for them
// (`connections`), and each waits for a step of its own (the credential source does the waiting).
//
// The first session logs in in connect(); the others once a call has to wait for a session (one
// big file never pays for a second login), one after another in the background, so the run goes on
// and they join as they are ready. A refused extra login is counted like
// any refused login but never retried (login.ts retryRefused: false), and the pool goes on with the
// sessions it has: a server that turned down one parallel login is not asked again in this run.
// The engine just sees `concurrency`; each call takes an idle session and gives it back.
import type { Account } from '../../config/types.js';
import { isOtpBackupError, OtpBackupError } from '../../errors.js';
import { stepStartMs, totpStep } from '../../otp/index.js';
import type { CredentialSource, Credentials } from '../login.js';
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
import { MtimeCache } from './mtimes.js';
import { FtpTransport, type FtpTransportOptions } from './transport.js';

/** Most control connections a run opens to one server (servers cap per-user sessions, often at 5–10). */
export const MAX_CONNECTIONS = 16;
/** Sessions when the account accepts a reused code and the config says nothing. */
export const DEFAULT_REUSE_CONNECTIONS = 4;

/**
 * How many FTP sessions a run opens: `account.connections` when given, else 4 over plain FTP where
 * one code may log in several times (TOTP with otp.reuse: allow), else 1. A code typed by a person (prompt) is
 * never asked for twice.
 */
export function ftpConnections(account: Account): number {
  if (account.otp.type === 'prompt') return 1;
  if (account.connections !== undefined) return Math.max(1, Math.min(MAX_CONNECTIONS, account.connections));
  // FTPS stays on one connection unless asked: `run` and `restore` over explicit FTPS with the pool
  // hung twice in one CI run (killed at 180 s, nothing printed) and were not reproduced since; the
  // pool was measured and tested over plain FTP only. `connections: N` still opts in.
  if (account.protocol !== 'ftp') return 1;
  return account.otp.type === 'totp' && account.otp.reuse === 'allow' ? DEFAULT_REUSE_CONNECTIONS : 1;
}

/** A mutex: one login at a time across the pool's sessions (they share one credential source). */
function gate(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn);
    tail = run.catch(() => {});
    return run;
  };
}

export class FtpPool implements Transport, Hasher, ModTimer, MtimeKeeper {
  /** The target width; calls beyond the sessions ready wait for one to be free. */
  readonly concurrency: number;
  private readonly opts: FtpTransportOptions;
  private readonly gate = gate();
  private readonly primary: FtpTransport;
  /** Logged-in sessions, primary first. */
  private readonly sessions: FtpTransport[] = [];
  private readonly idle: FtpTransport[] = [];
  private readonly waiting: Array<(t: FtpTransport) => void> = [];
  private growing: Promise<void> | undefined;
  /** An extra login failed: no more in this run. */
  private grown = false;
  private stopGrowing = new AbortController();
  private closed = false;
  /** The credentials of the last login the account's own source handed out (to reuse their code). */
  private lastCreds: Credentials | undefined;
  /** A parallel login was refused in this run: none is attempted again. */
  private refused = false;

  constructor(opts: FtpTransportOptions, connections: number) {
    // One MDTM cache for all sessions: the listing and the MDTM calls may run on different ones.
    this.opts = { ...opts, mtimes: opts.mtimes ?? new MtimeCache() };
    this.concurrency = Math.max(1, connections);
    const own = opts.credentials;
    const watched: CredentialSource = {
      next: async (signal) => {
        const c = await own.next(signal);
        this.lastCreds = { ...c, vars: { ...c.vars } };
        return c;
      },
      failed: (r) => own.failed(r),
      succeeded: () => own.succeeded(),
      unused: (c) => own.unused?.(c) ?? Promise.resolve(),
    };
    this.primary = new FtpTransport({ ...this.opts, credentials: watched, loginGate: this.gate });
    this.extraCredentials = this.extraSource(watched);
  }

  private readonly extraCredentials: CredentialSource;

  /**
   * Credentials for the extra sessions. Where reuse is allowed and the clock is still in the step of
   * the last login (and outside its end margin), the same code again, with no state write: one
   * code, several sessions. Otherwise the account's own source (a fresh step where reuse is
   * forbidden). A refusal is recorded like any; after one, no parallel login is attempted again.
   */
  private extraSource(watched: CredentialSource): CredentialSource {
    const otp = this.opts.account.otp;
    let fromSource = false;
    return {
      next: async (signal) => {
        if (this.refused)
          throw new OtpBackupError('auth', 'no more parallel logins: the server refused one in this run');
        const last = this.lastCreds;
        if (otp.type === 'totp' && otp.reuse === 'allow' && last?.step !== undefined && last.code) {
          const now = this.opts.clock.now();
          const marginMs = Math.min((otp.marginSeconds ?? 3) * 1000, (otp.period * 1000) / 2);
          if (
            totpStep(now, otp.period, otp.t0) === last.step &&
            stepStartMs(last.step + 1, otp.period, otp.t0) - now >= marginMs
          ) {
            fromSource = false;
            return { ...last, vars: { ...last.vars }, sent: false };
          }
        }
        fromSource = true;
        return watched.next(signal);
      },
      failed: async (r) => {
        this.refused = true;
        await watched.failed(r);
      },
      // The first login already recorded the success (and that the server accepts a reused code).
      succeeded: () => (fromSource ? watched.succeeded() : Promise.resolve()),
      unused: (c) => (fromSource ? (watched.unused?.(c) ?? Promise.resolve()) : Promise.resolve()),
    };
  }

  /** Sessions logged in so far (for tests and -vv). */
  get connected(): number {
    return this.sessions.length;
  }

  /** Resolves once the background logins under way have ended (all joined, or one failed). */
  whenGrown(): Promise<void> {
    return this.growing ?? Promise.resolve();
  }

  get canResume(): boolean {
    return this.sessions.every((s) => s.canResume !== false);
  }

  async connect(signal?: AbortSignal): Promise<void> {
    this.closed = false;
    await this.primary.connect(signal);
    if (!this.sessions.includes(this.primary)) this.add(this.primary);
    this.stopGrowing = new AbortController();
    this.grown = false;
  }

  /** Starts the background logins when calls wait and the pool may still grow. */
  private demand(): void {
    if (this.growing || this.grown || this.closed || this.sessions.length >= this.concurrency) return;
    if (!this.sessions.includes(this.primary)) return; // not connected (yet, or any more)
    this.growing = this.grow(this.stopGrowing.signal).finally(() => {
      this.growing = undefined;
    });
  }

  private add(t: FtpTransport): void {
    this.sessions.push(t);
    this.release(t);
  }

  private async grow(signal: AbortSignal): Promise<void> {
    const log = this.opts.log ?? (() => {});
    const name = this.opts.account.name;
    // Once calls ran in parallel, they will again: log in all of them.
    while (this.sessions.length < this.concurrency && !signal.aborted && !this.closed) {
      const t = new FtpTransport({
        ...this.opts,
        credentials: this.extraCredentials,
        loginGate: this.gate,
        extraSession: true,
      });
      try {
        await t.connect(signal);
      } catch (e) {
        await t.close().catch(() => {});
        if (signal.aborted) return;
        this.grown = true;
        const why = isOtpBackupError(e) ? e.message.split('\n')[0] : String(e);
        log(
          isOtpBackupError(e) && e.code === 'auth'
            ? `warning: account ${name}: the server refused a parallel login (${why}); going on with ${this.sessions.length} connection(s) — set otp.reuse: forbid if it does not accept a code twice`
            : `account ${name}: no more parallel connections (${why}); going on with ${this.sessions.length}`,
        );
        return;
      }
      if (this.closed || signal.aborted) {
        await t.close().catch(() => {});
        return;
      }
      this.add(t);
      log(`account ${name}: ${this.sessions.length} of ${this.concurrency} FTP connections logged in`);
    }
  }

  private acquire(): Promise<FtpTransport> {
    const t = this.idle.pop();
    if (t) return Promise.resolve(t);
    // Before connect(), or all busy: the primary's own queue orders what comes.
    if (!this.sessions.length) return Promise.resolve(this.primary);
    const p = new Promise<FtpTransport>((resolve) => this.waiting.push(resolve));
    this.demand();
    return p;
  }

  private release(t: FtpTransport): void {
    if (!this.sessions.includes(t)) return;
    const w = this.waiting.shift();
    if (w) w(t);
    else this.idle.push(t);
  }

  /** Drops a session whose reconnect the server refused; its call runs again on another one. */
  private retire(t: FtpTransport): void {
    const i = this.sessions.indexOf(t);
    if (i >= 0) this.sessions.splice(i, 1);
    const j = this.idle.indexOf(t);
    if (j >= 0) this.idle.splice(j, 1);
    void t.close().catch(() => {});
  }

  private async on<T>(fn: (t: FtpTransport) => Promise<T>): Promise<T> {
    for (;;) {
      const t = await this.acquire();
      const pooled = this.sessions.includes(t);
      try {
        return await fn(t);
      } catch (e) {
        // An extra session that lost its connection and was refused on the way back in: the
        // others (the primary at least) carry on; the primary's own refusals stay fatal.
        if (t !== this.primary && pooled && isOtpBackupError(e) && e.code === 'auth') {
          this.retire(t);
          continue;
        }
        throw e;
      } finally {
        if (pooled) this.release(t);
      }
    }
  }

  put(localPath: string, remotePath: string, opts?: PutOptions): Promise<void> {
    return this.on((t) => t.put(localPath, remotePath, opts));
  }
  get(remotePath: string, localPath: string, opts?: GetOptions): Promise<void> {
    return this.on((t) => t.get(remotePath, localPath, opts));
  }
  mkdirp(remoteDir: string): Promise<void> {
    return this.on((t) => t.mkdirp(remoteDir));
  }
  stat(remotePath: string): Promise<RemoteEntry | undefined> {
    return this.on((t) => t.stat(remotePath));
  }
  list(remoteDir: string): Promise<RemoteEntry[]> {
    return this.on((t) => t.list(remoteDir));
  }
  rename(from: string, to: string): Promise<void> {
    return this.on((t) => t.rename(from, to));
  }
  remove(remotePath: string): Promise<void> {
    return this.on((t) => t.remove(remotePath));
  }
  modTime(remotePath: string): Promise<Date | undefined> {
    return this.on((t) => t.modTime(remotePath));
  }
  hash(remotePath: string, algo: HashAlgorithm): Promise<string | undefined> {
    return this.on((t) => t.hash(remotePath, algo));
  }
  /** Every session talks to the same server: the primary's FEAT answers for all. */
  hashAlgorithms(): HashAlgorithm[] {
    return this.primary.hashAlgorithms();
  }
  keepsMtime(): boolean {
    return this.primary.keepsMtime();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopGrowing.abort();
    // The abort closes an extra login's socket; one still queued behind the login gate ends when
    // the gate frees. Bounded either way: close() never waits on a login for more than 5 s.
    if (this.growing) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.growing.catch(() => {}),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 5000);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    const all = this.sessions.splice(0);
    this.idle.length = 0;
    // Calls still waiting for a session get the (closed) primary, which refuses them.
    for (const w of this.waiting.splice(0)) w(this.primary);
    if (!all.includes(this.primary)) all.push(this.primary);
    await Promise.all(all.map((s) => s.close()));
  }
}
