// watchJobs: chokidar on the jobs' sources; after a quiet period the affected jobs run through
// runDue (locks, manifest, state, log as for `run`) over one kept-alive transport per account, so a
// watch session spends one one-time code per account, not one per batch. A network error drops
// the connection; the next batch logs in again under the same login discipline.
import type { Stats } from 'node:fs';
import { relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { Account, Config, Job } from '../config/types.js';
import { makeFilter } from '../scan/filters.js';
import { sourceRoots } from '../scan/scan.js';
import type { Transport } from '../transport/types.js';
import { type RunDueDeps, runDue } from './run-due.js';
import type { RunResult } from './types.js';

type LoggedIn = Transport & { loginStep?: number };

export interface WatchDeps extends Omit<RunDueDeps, 'job' | 'signal'> {
  /** Stops watching; a batch in progress finishes its files in flight first. */
  signal: AbortSignal;
  /** Quiet period after the last change before a batch runs. */
  quietMs: number;
  /** Run every job once at start (changes made while watch was not running). */
  initialRun?: boolean;
  /** Called after each job run (for output). */
  onResult?(job: string, result: RunResult): void;
  onError?(job: string, e: unknown): void;
  /** Called once per batch with the results of its job runs (for `watch --json`). */
  onBatch?(result: RunResult): void;
  /** Delay before retrying a job whose run failed on the network. */
  retryMs?: number;
}

/** The jobs' source paths and a predicate saying whether a changed path matters to the job. */
function watchSpec(
  job: Job,
  cwd: string | undefined,
): { paths: string[]; ignored: (p: string, st?: Stats) => boolean } {
  const roots = sourceRoots(job, cwd);
  const filter = makeFilter(job.include, job.exclude);
  const ignored = (p: string, st?: Stats) => {
    const root = roots.find((r) => p === r.abs || p.startsWith(`${r.abs}${sep}`));
    if (!root) return false;
    const inRoot = relative(root.abs, p).split(sep).join('/');
    if (inRoot === '') return false;
    const rel = root.rel ? `${root.rel}/${inRoot}` : inRoot;
    // chokidar asks first without stats: only a known type can be judged (an excluded directory is
    // then not watched at all).
    if (st?.isDirectory()) return filter.skipDir(rel);
    if (st?.isFile()) return filter.skipFile(rel);
    return false;
  };
  return { paths: roots.map((r) => r.abs), ignored };
}

export async function watchJobs(config: Config, jobs: Job[], deps: WatchDeps): Promise<void> {
  const transports = new Map<string, LoggedIn>();
  const connect = async (account: Account): Promise<LoggedIn> => {
    let t = transports.get(account.name);
    if (!t) {
      t = await deps.connect(account);
      transports.set(account.name, t);
    }
    // runDue closes what it gets after each job: hand it a view whose close() keeps the session.
    const real = t;
    return new Proxy(real, {
      get(target, prop) {
        if (prop === 'close') return async () => {};
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
  const drop = async (accountName: string) => {
    const t = transports.get(accountName);
    transports.delete(accountName);
    await t?.close().catch(() => {});
  };

  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const schedule = (ms: number) => {
    if (deps.signal.aborted) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (running)
        schedule(ms); // a batch is running: look again after it
      else running = batch().finally(() => (running = undefined));
    }, ms);
  };

  const batch = async () => {
    const names = [...pending];
    pending.clear();
    const all: RunResult = { jobs: [], exitCode: 0 };
    try {
      await runBatch(names, all);
    } finally {
      if (all.jobs.length) deps.onBatch?.(all);
    }
  };
  const runBatch = async (names: string[], all: RunResult) => {
    for (const name of names) {
      if (deps.signal.aborted) break;
      const job = config.jobs[name];
      if (!job) continue;
      let result: RunResult;
      try {
        result = await runDue(config, { ...deps, job: name, connect, signal: deps.signal });
      } catch (e) {
        deps.onError?.(name, e); // e.g. state directory unwritable: keep watching the others
        continue;
      }
      deps.onResult?.(name, result);
      all.jobs.push(...result.jobs);
      if (result.exitCode !== 0 && all.exitCode === 0) all.exitCode = result.exitCode;
      const err = result.jobs[0]?.error;
      if (err?.code === 'network' || err?.code === 'locked') {
        // The connection is gone (or another run holds the job): try again later.
        if (err.code === 'network') await drop(job.account);
        pending.add(name);
        schedule(deps.retryMs ?? 30_000);
      }
    }
  };

  const watchers: FSWatcher[] = [];
  for (const job of jobs) {
    const spec = watchSpec(job, deps.cwd);
    const w = watch(spec.paths, { ignoreInitial: true, ignored: spec.ignored, persistent: true });
    w.on('all', () => {
      pending.add(job.name);
      schedule(deps.quietMs);
    });
    w.on('error', () => {}); // e.g. a source removed; the next batch reports it
    watchers.push(w);
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
  }

  try {
    if (deps.initialRun !== false) {
      for (const j of jobs) pending.add(j.name);
      running = batch().finally(() => (running = undefined));
    }
    await new Promise<void>((resolve) => {
      if (deps.signal.aborted) resolve();
      else deps.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    if (timer) clearTimeout(timer);
    await running;
    await Promise.all(watchers.map((w) => w.close()));
    for (const name of [...transports.keys()]) await drop(name);
  }
}
