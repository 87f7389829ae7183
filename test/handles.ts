// What would keep a Node process alive for long, counted rather than timed: listening servers,
// sockets and child processes, and armed timers of 5 s or more, created since trackHandles().
// Shorter timers (ftp-srv arms a 1 s one per client it disconnects) end on their own.
import { createHook } from 'node:async_hooks';

const LONG_MS = 5000;
type Timer = NodeJS.Timeout & { _idleTimeout?: number; _destroyed?: boolean };

function activeHandles(): object[] {
  // No public API lists handles with their details; this one has been there since Node 0.x.
  return (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
}

export interface HandleTracker {
  /** One label per long-lived handle opened since tracking began and still open. */
  open(): string[];
  stop(): void;
}

export function trackHandles(): HandleTracker {
  const timers = new Map<number, Timer>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type === 'Timeout') timers.set(id, resource as Timer);
    },
    destroy(id) {
      timers.delete(id);
    },
  }).enable();
  const before = new Set<unknown>([process.stdin, process.stdout, process.stderr, ...activeHandles()]);
  return {
    open() {
      const out: string[] = [];
      for (const t of timers.values()) {
        const ms = t._idleTimeout ?? 0;
        if (!t._destroyed && t.hasRef() && ms >= LONG_MS) out.push(`timer(${ms} ms)`);
      }
      for (const h of activeHandles()) {
        if (before.has(h)) continue;
        const name = h.constructor?.name ?? 'handle';
        const addr = (h as { address?: () => unknown }).address?.();
        out.push(addr && typeof addr === 'object' && 'port' in addr ? `${name}(port ${addr.port})` : name);
      }
      return out;
    },
    stop: () => hook.disable(),
  };
}
