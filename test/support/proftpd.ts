// One ProFTPD per test process, shared by every suite in it that does not change the server itself
// (a suite that kills, stalls or reconfigures the server starts its own with startProftpd()). The
// server's users, seeds and ports are random per start; suites keep apart by working in their own
// remote directories and by account names. Refcounted: the last release() stops it.
import { after, before } from 'node:test';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';

let shared: Promise<ProftpdHandle> | undefined;
let users = 0;

/** The process's shared ProFTPD, started on first use. Pair each call with one release(). */
export async function acquireProftpd(): Promise<ProftpdHandle> {
  users++;
  shared ??= startProftpd();
  try {
    return await shared;
  } catch (e) {
    users--;
    shared = undefined;
    throw e;
  }
}

/** Gives back one acquireProftpd(); the last one stops the server. */
export async function releaseProftpd(): Promise<void> {
  if (users === 0) return;
  users--;
  if (users > 0 || !shared) return;
  const s = shared;
  shared = undefined;
  await (await s.catch(() => undefined))?.stop();
}

/**
 * Registers before/after hooks (in the current suite, or the file when called at top level) that
 * acquire and release the shared server; the returned getter is valid inside tests and hooks that
 * run after that before(). `skip` (a requireTool() reason) registers nothing.
 */
export function useProftpd(skip: string | false = false): () => ProftpdHandle {
  let server: ProftpdHandle | undefined;
  if (!skip) {
    before(async () => {
      server = await acquireProftpd();
    });
    after(async () => {
      if (server) await releaseProftpd();
      server = undefined;
    });
  }
  return () => {
    if (!server) throw new Error('useProftpd(): the server is used outside the tests (or was skipped)');
    return server;
  };
}
