// Healthchecks-style pings (healthchecks.io, Uptime Kuma push, Cronitor): `{url}/start` when a job
// starts, `{url}` on success, `{url}/fail` with the one-line error as body on failure. Short
// timeout, two retries, and never an error: a monitoring outage must not fail or hang a backup.
import { redact } from '../secrets/redact.js';

export type PingKind = 'start' | 'success' | 'failure';

export interface NotifyTarget {
  /** Resolved base URL (may be a capability: never printed unredacted). */
  url: string;
  start?: string;
  success?: string;
  failure?: string;
  timeoutS?: number;
}

const DEFAULT_PATHS: Record<PingKind, string> = {
  start: '{url}/start',
  success: '{url}',
  failure: '{url}/fail',
};
export const NOTIFY_TIMEOUT_S = 5;
const RETRIES = 2;

export function pingUrl(t: NotifyTarget, kind: PingKind): string {
  const tpl = t[kind] ?? DEFAULT_PATHS[kind];
  return tpl.split('{url}').join(t.url.replace(/\/+$/, ''));
}

/** Sends one ping (POST, body as text). Resolves with a problem description, or undefined when it went. */
export async function ping(
  t: NotifyTarget,
  kind: PingKind,
  body = '',
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<string | undefined> {
  const url = pingUrl(t, kind);
  let problem = '';
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (attempt) await sleep(500 * 2 ** (attempt - 1));
    try {
      const res = await fetch(url, {
        method: 'POST',
        body: body.slice(0, 10_000),
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        signal: AbortSignal.timeout((t.timeoutS ?? NOTIFY_TIMEOUT_S) * 1000),
        redirect: 'follow',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return undefined;
      problem = `HTTP ${res.status}`;
      if (res.status < 500 && res.status !== 429) break; // a wrong URL does not get better
    } catch (e) {
      const c = (e as { cause?: { code?: string } }).cause?.code;
      problem = (e as Error).name === 'TimeoutError' ? 'timed out' : (c ?? (e as Error).message);
    }
  }
  return redact(`notify ${kind} ping failed (${problem})`);
}
