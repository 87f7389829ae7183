// The network fault suite, run per protocol by network-ftp.test.ts and network-sftp.test.ts: one
// `otpbackup run` through a FaultProxy that resets or stalls connections at seeded random byte
// offsets. The run must complete (or a rerun must), with zero refused logins and no TOTP step spent
// twice (the account forbids reuse; ProFTPD would accept a replay, so reuse is detected from the
// times of its successful logins: two in one 30 s step means a step was spent twice).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, readTree, type Sandbox } from '../backup/e2e-helpers.js';
import type { ProftpdHandle } from '../servers/proftpd.js';
import { addAccount, addJob, assertConverged, type Proto } from './helpers.js';
import { type Fault, FaultProxy } from './proxy.js';
import { prng, scaled } from './scale.js';

/** A run that takes longer than this hangs (each fault costs at most a TOTP step and a timeout). */
const RUN_MS = scaled(150_000, 1_800_000);

export interface NetworkSize {
  faults: number;
  files: number;
  maxBytes: number;
}

/** Login times (ms, server log clock) of successful logins of `user`. */
function successfulLogins(server: ProftpdHandle, user: string): number[] {
  const text = readFileSync(join(server.dir, 'log', 'system.log'), 'utf8');
  const out: number[] = [];
  const sessions = new Set<string>(); // an SSH session logs its success twice
  for (const line of text.split('\n')) {
    if (!line.includes(`USER ${user}: Login successful`)) continue;
    const pid = /proftpd\[(\d+)\]/.exec(line)?.[1] ?? line;
    if (sessions.has(pid)) continue;
    sessions.add(pid);
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(line);
    if (m) out.push(new Date(`${m[1]}T${m[2]}.${m[3]}`).getTime());
  }
  return out;
}

export async function networkSuite(
  proto: Proto,
  server: ProftpdHandle,
  box: Sandbox,
  size: NetworkSize,
  seed: number,
  diag: (s: string) => void,
): Promise<void> {
  const why = (s: string) => `${s} (FAULT_SEED=${seed})`;
  const rng = prng(seed);
  const target = proto === 'ftp' ? server.ports.ftp : server.ports.sftpKbd;
  const proxy = await new FaultProxy(target, { ftp: proto === 'ftp' }).start();
  try {
    const name = `net${proto}`;
    // timeout 4 s: a stalled connection is given up (and retried) after about 4 s.
    await addAccount(box, server, name, proto, { port: proxy.port, timeout: 4 });
    const src = join(box.dir, `src-${name}`);
    let total = 0;
    for (let i = 0; i < size.files; i++) {
      const dir = join(src, `d${i % 4}`);
      mkdirSync(dir, { recursive: true });
      const buf = Buffer.alloc(1 + rng.int(0, size.maxBytes - 1), i % 251);
      total += buf.length;
      writeFileSync(join(dir, `f${i}.bin`), buf);
    }
    await addJob(box, name, name, src, `net-${name}`);
    const remote = join(server.home(server.users.totp.name), `net-${name}`);

    const faults: Fault[] = [];
    for (let i = 0; i < size.faults; i++) {
      const reset = rng.next() < 0.6;
      faults.push({
        kind: reset ? 'reset' : 'stall',
        afterBytes: Math.floor(((0.3 + 1.4 * rng.next()) * total) / (size.faults + 1)),
        ...(reset ? {} : { stallMs: rng.int(1000, 8000) }),
      });
    }
    proxy.arm(...faults);
    const failedBefore = await server.failedLogins();
    const loginsBefore = successfulLogins(server, server.users.totp.name).length;
    const started = Date.now();

    // Until every fault has fired: a run that finished first is followed by a --force run.
    let runs = 0;
    const exits: Array<number | null> = [];
    let log = '';
    const firstErrors: string[] = [];
    while (runs === 0 || proxy.armed > 0) {
      assert.ok(runs < 4, why(`${proxy.armed} faults never fired in ${runs} runs`));
      // -vv before the command: reconnects and step waits are logged (the filter below keeps them).
      const r = await cli(['-vv', 'run', '--job', name, ...(runs ? ['--force'] : [])], box.env, RUN_MS);
      if (r.signal) assert.fail(why(`run hung, killed after ${RUN_MS} ms: ${r.stderr.slice(-3000)}`));
      exits.push(r.status);
      log += r.stderr
        .split('\n')
        .filter((l) => /connected|reconnect|waiting|refused/.test(l))
        .join(' | ');
      runs++;
      if (r.status !== 0) {
        firstErrors.push(r.stderr.split('\n').find((l) => l.startsWith('otpbackup:')) ?? '');
        // A run may give up after repeated faults; the next one must finish the job.
        const again = await cli(['-vv', 'run', '--job', name], box.env, RUN_MS);
        assert.equal(
          again.status,
          0,
          why(
            `rerun after exit ${r.status}:\n${r.stderr.slice(-4000)}\n--- rerun:\n${again.stderr.slice(-4000)}`,
          ),
        );
      }
    }
    await assertConverged(box, name, src, remote, { allowTemps: true });
    assert.equal(readTree(remote).size >= size.files, true);

    const refused = (await server.failedLogins()) - failedBefore;
    assert.equal(refused, 0, why('no login was refused'));
    const logins = successfulLogins(server, server.users.totp.name).slice(loginsBefore);
    const steps = logins.map((t) => Math.floor(t / 30_000));
    const reused = steps.filter((s, i) => steps.indexOf(s) !== i).length;
    assert.equal(
      reused,
      0,
      why(
        `no TOTP step spent twice (logins at ${logins.map((t) => new Date(t).toISOString().slice(11, 23))}; ${log})`,
      ),
    );
    assert.ok(proxy.fired.length >= 1, why('faults fired'));
    // SFTP has one connection, so every fault costs a reconnect; FTP recovers a cut data connection
    // on the same control connection, so there a fault need not cost a login.
    if (proto === 'sftp')
      assert.ok(logins.length >= 2, why(`faults forced reconnects (${logins.length} logins)`));
    const byKind = (k: string) => proxy.fired.filter((f) => f.kind === k).length;
    diag(
      `${proto}: seed ${seed}, ${size.files} files (${total} bytes), ${proxy.fired.length} faults fired ` +
        `(${byKind('reset')} resets, ${byKind('stall')} stalls; on ${proxy.fired.map((f) => f.on).join(',')}), ` +
        `${runs} run(s) exits ${exits.join(',')}${firstErrors.length ? ` (${firstErrors.join('; ')})` : ''}, ${logins.length} logins, 0 refused, ${Date.now() - started} ms`,
    );
  } finally {
    await proxy.stop();
  }
}
