// SFTP resume of large files (#14.7), against the real ProFTPD (mod_sftp) and OpenSSH sshd: a run
// killed (SIGKILL) mid-upload of a 64 MiB file leaves its temp file and, in the temp journal, the
// prefix every WRITE below which was acknowledged; the next run writes from there into the same
// temp file (opened without truncation) and commits it. Measured through a loopback proxy: the
// bytes the client sends on the second run are less than the file (the kept prefix is not resent),
// and the server's file is byte-identical. A kept prefix whose bytes differ (read back and
// compared below the resume point) is not trusted: the file is sent whole.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TempJournal } from '../../src/backup/temp-journal.js';
import { jobStateDir } from '../../src/config/paths.js';
import { allowReuse, cli, type Sandbox, sandbox, start, TEMP_MARK } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshdHandle, sshdUnavailable, startSshd } from '../servers/sshd.js';
import { addAccount, addJob, proftpdMissing } from './helpers.js';
import { FaultProxy } from './proxy.js';
import { faultSeed, prng } from './scale.js';

const noProftpd = proftpdMissing();
const noSshd = sshdUnavailable();
if (process.env.CI === 'true' && noSshd) throw new Error(`CI=true but sshd cannot run: ${noSshd}`);
const SEED = faultSeed();
const SIZE = 64 * 1024 * 1024;

const boxes: Sandbox[] = [];
after(() => {
  for (const b of boxes) b.cleanup();
});

/** Temp files (name → size) directly in dir. */
function tempsIn(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out; // not created yet
  }
  for (const n of names) {
    if (!n.includes(TEMP_MARK)) continue;
    try {
      out.set(n, statSync(join(dir, n)).size);
    } catch {} // renamed away meanwhile
  }
  return out;
}

interface Server {
  /** Adds account `name` (through the proxy's port) and job `name` uploading src to remoteDir. */
  setup(box: Sandbox, name: string, port: number, src: string): Promise<string>;
  /** The server's port for SFTP. */
  port: number;
}

/**
 * The scenario on one server: kill once the temp file holds ≥ 16 MiB, optionally damage the kept
 * bytes, run again to the end, and return what the second run sent and what the server holds.
 */
async function killAndRerun(srv: Server, name: string, damage: boolean) {
  const box = sandbox('otpbackup-faults-sftp-resume-');
  boxes.push(box);
  const src = join(box.dir, 'src');
  mkdirSync(src, { recursive: true });
  const rng = prng(SEED + name.length);
  const buf = Buffer.alloc(SIZE);
  for (let j = 0; j < SIZE; j += 512) buf[j] = rng.int(0, 255);
  writeFileSync(join(src, 'big.bin'), buf);
  // ~48 MiB/s: the kill lands mid-file however fast or busy the machine is.
  const proxy = await new FaultProxy(srv.port, { rate: 48 * 1024 * 1024 }).start();
  try {
    const remote = await srv.setup(box, name, proxy.port, src);
    const s = start(['run', '--job', name], box.env);
    let exited = false;
    void s.done.then(() => {
      exited = true;
    });
    while (!exited) {
      if ([...tempsIn(remote).values()].some((n) => n >= 16 * 1024 * 1024)) {
        s.child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const killed = await s.done;
    assert.equal(killed.signal, 'SIGKILL', `the run ended before it could be killed: ${killed.stderr}`);
    const left = tempsIn(remote);
    assert.equal(left.size, 1, JSON.stringify([...left]));
    const [tmpName] = [...left.keys()];
    const { resumable } = await TempJournal.open(jobStateDir(box.env, name), { now: Date.now }).then((j) => ({
      resumable: [...j.resumable().values()],
    }));
    const acked = resumable[0]?.acked ?? 0;
    assert.ok(
      acked >= 4 * 1024 * 1024,
      `the journal holds the acknowledged prefix: ${JSON.stringify(resumable)}`,
    );
    if (damage) {
      // One byte just below the resume point differs from the source: size alone would not tell.
      const p = join(remote, tmpName!);
      const b = readFileSync(p);
      b[acked - 100] = (b[acked - 100]! ^ 0xff) & 0xff;
      writeFileSync(p, b);
    }
    const before = proxy.upBytes;
    const fin = await cli(['-v', '-v', 'run', '--job', name], box.env, 300_000);
    assert.equal(fin.status, 0, fin.stderr);
    const sent = proxy.upBytes - before;
    assert.ok(readFileSync(join(remote, 'big.bin')).equals(buf), 'byte-identical on the server');
    assert.deepEqual([...tempsIn(remote).keys()], [], 'no temp file left');
    const again = await cli(['run', '--job', name, '--json'], box.env);
    assert.equal(JSON.parse(again.stdout).jobs[0].files, 0, 'nothing is sent again');
    return { sent, acked, atKill: left.get(tmpName!)!, log: fin.stdout + fin.stderr };
  } finally {
    await proxy.stop();
  }
}

function cases(label: string, srv: () => Server, skip: string | undefined) {
  test(`${label}: a killed upload of a 64 MiB file resumes at the acknowledged prefix`, {
    skip,
    timeout: 300_000,
  }, async (t) => {
    const r = await killAndRerun(srv(), `resume${label}`, false);
    t.diagnostic(
      `${label}: ${r.atKill} bytes in the temp at the kill, ${r.acked} journalled as acknowledged; the next run sent ${r.sent} bytes on the wire for a ${SIZE}-byte file`,
    );
    assert.match(r.log, new RegExp(`resuming .*big\\.bin at byte ${r.acked} of ${SIZE}`));
    // The rest of the file, plus login and SSH framing (well under 1 MiB), never the whole file.
    assert.ok(r.sent < SIZE - r.acked + 1024 * 1024, `sent ${r.sent}, expected about ${SIZE - r.acked}`);
  });

  test(`${label}: a kept prefix whose bytes differ is not trusted: the file is sent whole`, {
    skip,
    timeout: 300_000,
  }, async (t) => {
    const r = await killAndRerun(srv(), `damaged${label}`, true);
    t.diagnostic(`${label}: damaged temp → the next run sent ${r.sent} bytes`);
    assert.doesNotMatch(r.log, /resuming/);
    assert.ok(r.sent >= SIZE, `sent ${r.sent}: the whole file`);
  });
}

describe('SFTP resume on ProFTPD (mod_sftp)', { skip: noProftpd, concurrency: false }, () => {
  let server: ProftpdHandle;
  before(async () => {
    server = await startProftpd();
  });
  after(() => server?.stop());
  cases(
    'proftpd',
    () => ({
      port: server.ports.sftpKbd,
      async setup(box, name, port, src) {
        await addAccount(box, server, name, 'sftp', { reuse: true, port });
        await addJob(box, name, name, src, name);
        return join(server.home(server.users.totp.name), name);
      },
    }),
    noProftpd,
  );
});

describe('SFTP resume on OpenSSH sshd', { skip: noSshd, concurrency: false }, () => {
  let server: SshdHandle;
  before(async () => {
    server = await startSshd();
  });
  after(() => server?.stop());
  cases(
    'sshd',
    () => ({
      port: server.ports.kbd,
      async setup(box, name, port, src) {
        const u = server.users.reuse;
        const add = await cli(
          [
            'account',
            'add',
            name,
            '--url',
            `sftp://${u.name}@127.0.0.1:${port}/~/`,
            '--password-env',
            'P',
            '--totp-secret-env',
            'S',
            '--store',
            'vault',
            '--no-test',
            '--trust-host-key',
            server.sshHostKeyFingerprint,
          ],
          { ...box.env, S: u.secret, P: u.password },
        );
        assert.equal(add.status, 0, add.stderr);
        await allowReuse(box.env, name);
        await addJob(box, name, name, src, name);
        return join(server.home(u.name), name);
      },
    }),
    noSshd,
  );
});
