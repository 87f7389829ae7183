// Budgets for CPU work count CPU time, not wall time: on a loaded machine (2 cores, 8 suites at
// once) a 1 s job can take 10 s of wall time, and a wall-clock budget fails for no fault of the
// code. process.cpuUsage() counts user + system time of every thread of this process (libuv's
// pool too), so file-system work is counted as well; a wait (sleep, network) counts nothing: bound
// those with timeouts instead.

/** CPU milliseconds `fn` takes (its awaits included: keep other work out of the process meanwhile). */
export async function cpuMs<T>(fn: () => T | Promise<T>): Promise<{ result: T; ms: number }> {
  const start = process.cpuUsage();
  const result = await fn();
  const used = process.cpuUsage(start);
  return { result, ms: (used.user + used.system) / 1000 };
}

/** cpuMs for synchronous work. */
export function cpuMsSync<T>(fn: () => T): { result: T; ms: number } {
  const start = process.cpuUsage();
  const result = fn();
  const used = process.cpuUsage(start);
  return { result, ms: (used.user + used.system) / 1000 };
}
