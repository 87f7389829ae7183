// Shared wiring of the fault suites: accounts and jobs against the real ProFTPD in a temp HOME,
// ProFTPD's TransferLog parsed into uploads per final path, and the end-state checks every suite
// makes (server tree == sources, no temp name, manifest == what the server holds).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jobStateDir } from '../../src/config/paths.js';
import { Manifest } from '../../src/scan/manifest.js';
import { readTree, type Sandbox, TEMP_MARK } from '../backup/e2e-helpers.js';
import { alive, childPids, PROFTPD_BIN, type ProftpdHandle } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

/** Why ProFTPD cannot run (a skip), or undefined; with CI=true a missing server fails the file. */
export function proftpdMissing(): string | undefined {
  return requireTool('proftpd') || undefined;
}

// The account and job fixtures moved to test/support/accounts.ts.
export {
  type AccountOpts,
  accountFixture as addAccount,
  jobFixture as addJob,
  type Proto,
} from '../support/accounts.js';

/**
 * Completed uploads per final remote path (chroot-relative), from ProFTPD's TransferLog: each
 * completed incoming transfer of a temp name counts for the final name it was going to.
 */
export function uploadsPerPath(server: ProftpdHandle): Map<string, number> {
  let text = '';
  try {
    text = readFileSync(join(server.dir, 'log', 'xfer.log'), 'utf8');
  } catch {}
  const homes = `${join(server.dir, 'home')}/`;
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    // xferlog: date(5) secs host size filename type action direction(i/o) access user service auth id
    // completion(c/i); the filename is the real path: made relative to the user's home (chroot).
    const f = line.trim().split(/\s+/);
    if (f.length < 18 || f[f.length - 1] !== 'c' || f[f.length - 7] !== 'i') continue;
    const real = f.slice(8, f.length - 9).join(' ');
    const file = real.startsWith(homes) ? real.slice(real.indexOf('/', homes.length)) : real;
    const dir = file.slice(0, file.lastIndexOf('/') + 1);
    const base = file.slice(dir.length);
    const m = /^\.(.*)\.otpbackup-tmp-[0-9a-f]{12}-[0-9a-z]+-[0-9a-f]{8}$/.exec(base);
    const final = dir + (m ? m[1] : base);
    out.set(final, (out.get(final) ?? 0) + 1);
  }
  return out;
}

export function completedUploads(server: ProftpdHandle): number {
  let n = 0;
  for (const v of uploadsPerPath(server).values()) n += v;
  return n;
}

/** Final names holding none of the versions their source ever had (a half-written file), and names
 *  that are no source at all. `versions` maps a relative path to every content it has had. */
export function badFinals(
  versions: Map<string, Buffer[]>,
  remote: string,
): { torn: string[]; unknown: string[] } {
  const got = existsSync(remote) ? readTree(remote) : new Map<string, Buffer>();
  const torn: string[] = [];
  const unknown: string[] = [];
  for (const [k, v] of got) {
    if (k.includes(TEMP_MARK)) continue;
    const want = versions.get(k);
    if (!want) unknown.push(k);
    else if (!want.some((w) => w.equals(v))) torn.push(k);
  }
  return { torn, unknown };
}

/** The end state every suite demands: same names and bytes, no temp name, manifest == server. */
export async function assertConverged(
  box: Sandbox,
  job: string,
  src: string,
  remote: string,
  opts: { allowTemps?: boolean } = {},
): Promise<string[]> {
  const want = readTree(src);
  const got = readTree(remote);
  const temps = [...got.keys()].filter((k) => k.includes(TEMP_MARK));
  const finals = [...got.keys()].filter((k) => !k.includes(TEMP_MARK)).sort();
  assert.deepEqual(finals, [...want.keys()].sort(), 'the server holds the same file names');
  for (const [k, v] of want) {
    const g = got.get(k);
    let at = -1;
    if (g)
      for (let i = 0; i < Math.min(g.length, v.length); i++)
        if (g[i] !== v[i]) {
          at = i;
          break;
        }
    let zeros = 0;
    if (g && at >= 0) while (at + zeros < g.length && g[at + zeros] === 0) zeros++;
    assert.ok(
      g?.equals(v),
      `${k}: same bytes on the server (${g?.length ?? 'no'} bytes there, ${v.length} here, first difference at ${at}, ${zeros} zero bytes from there)`,
    );
  }
  if (!opts.allowTemps) assert.deepEqual(temps, [], 'no temporary upload file is left');
  await assertManifestMatches(box, job, remote);
  return temps;
}

/** Every file the manifest records is on the server with the recorded size; none is missing. */
export async function assertManifestMatches(
  box: Sandbox,
  job: string,
  remote: string,
  opts: { all?: boolean } = { all: true },
): Promise<number> {
  const m = await Manifest.load(jobStateDir(box.env, job));
  try {
    const got = existsSync(remote) ? readTree(remote) : new Map<string, Buffer>();
    const entries = manifestEntries(m);
    for (const [rel, size] of entries) {
      // Mid-way (a kill between a rename and its record) the server may already hold a newer version.
      if (opts.all) assert.equal(got.get(rel)?.length, size, `manifest entry ${rel} matches the server`);
      else assert.ok(got.has(rel), `manifest entry ${rel} is on the server`);
    }
    if (opts.all) {
      const finals = [...got.keys()].filter((k) => !k.includes(TEMP_MARK));
      assert.equal(entries.size, finals.length, 'the manifest records every file on the server');
    }
    return entries.size;
  } finally {
    m.close();
  }
}

function manifestEntries(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const rel of m.keys()) out.set(rel, Number(m.get(rel)?.size));
  return out;
}

/**
 * Stops ProFTPD (sessions, then master, by PID) without removing its directory, so it can be
 * started again on the same ports and config with restartProftpd(). Returns the stopped PID.
 */
export async function stopProftpd(pid: number): Promise<void> {
  const pids = [...(await childPids(pid)), pid];
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {}
  }
  const end = Date.now() + 5000;
  while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
}

/** Starts ProFTPD again from the handle's config; resolves with the new master PID once it answers. */
export async function restartProftpd(server: ProftpdHandle): Promise<number> {
  const fd = openSync(join(server.dir, 'log', 'system.log'), 'a');
  const child = spawn(PROFTPD_BIN, ['-n', '-c', join(server.dir, 'etc', 'proftpd.conf')], {
    stdio: ['ignore', 'ignore', fd],
  });
  closeSync(fd);
  const pid = child.pid ?? 0;
  const end = Date.now() + 15_000;
  for (;;) {
    if (await answers(server.ports.ftp)) return pid;
    if (Date.now() > end) throw new Error(`proftpd did not come back: ${await server.logTail(10)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('data', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  });
}

/** A one-line error on stderr: each non-empty line is an error or its hint, no stack trace. */
export function assertOneLineError(stderr: string): void {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  // e.g. MaxListenersExceededWarning, seen as the first line of stderr when SFTP lost its server.
  assert.doesNotMatch(stderr, /\(node:\d+\) \w*Warning/, 'no Node warning');
  assert.match(stderr, /\S/, 'an error message');
}
