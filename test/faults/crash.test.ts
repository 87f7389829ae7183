// Crashes (issue #8, #5): `otpbackup run` is killed with SIGKILL at seeded random moments while it
// uploads a tree to the real ProFTPD, and rerun each time. After each kill: no final name holds a
// half-written file, the manifest records only files the server holds. At the end: the server tree
// equals the sources byte for byte, the manifest matches, and ProFTPD's TransferLog shows no
// completed file uploaded again beyond the files in flight at a kill (≤ kills × concurrency), and no
// temp file is left (the temp journal names those of each killed run; the next run removes them).
// FTP: most kills come once a random number of new uploads has landed in the TransferLog (so they hit
// the upload phase); one in five at a random time after spawn (start-up, scan, login). SFTP: mod_sftp
// logs no transfers, so its kills are timed and its re-uploads are not counted.
//
// Knobs: FAULT_SCALE=full → FTP and SFTP 2,000 files × 50 kills each; default → FTP 500 × 10 and
// SFTP 200 × 5. FAULT_SEED=<n> replays the kill sequence (the seed is printed).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEFAULT_REUSE_CONNECTIONS } from '../../src/transport/ftp/pool.js';
import { cli, readTree, type Sandbox, sandbox, start } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import {
  addAccount,
  addJob,
  assertConverged,
  assertManifestMatches,
  badFinals,
  completedUploads,
  type Proto,
  proftpdMissing,
  uploadsPerPath,
} from './helpers.js';
import { faultSeed, prng, scaled } from './scale.js';

const missing = proftpdMissing();
const SEED = faultSeed();
const SIZES: Record<Proto, { files: number; kills: number; maxBytes: number; concurrency: number }> = {
  // FTP: 4 files in flight, one per control connection of the pool (reuse allowed: 4 sessions, one code).
  ftp: {
    files: scaled(500, 2000),
    kills: scaled(10, 50),
    maxBytes: 16 * 1024,
    concurrency: DEFAULT_REUSE_CONNECTIONS,
  },
  sftp: { files: scaled(200, 2000), kills: scaled(5, 50), maxBytes: 16 * 1024, concurrency: 32 },
};

let server: ProftpdHandle;
let box: Sandbox;

before(async () => {
  if (missing) return;
  server = await startProftpd();
  box = sandbox('otpbackup-faults-crash-');
});
after(async () => {
  await server?.stop();
  box?.cleanup();
});

function makeTree(dir: string, n: number, maxBytes: number, rng: ReturnType<typeof prng>): void {
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${i % 9}`, i % 4 ? '' : `e${i % 5}`);
    mkdirSync(sub, { recursive: true });
    const buf = Buffer.alloc(1 + rng.int(0, maxBytes - 1));
    for (let j = 0; j < buf.length; j++) buf[j] = rng.int(0, 255);
    writeFileSync(join(sub, `f${i}.bin`), buf);
  }
}

async function crashSuite(proto: Proto, t: { diagnostic(s: string): void }) {
  const size = SIZES[proto];
  const seed = SEED + (proto === 'ftp' ? 0 : 1);
  const rng = prng(seed);
  const name = `crash${proto}`;
  const why = (s: string) => `${s} (FAULT_SEED=${SEED})`;
  // reuse: allow, so dozens of back-to-back runs do not each wait 30 s for a fresh TOTP step.
  await addAccount(box, server, name, proto, { reuse: true });
  const src = join(box.dir, `src-${name}`);
  makeTree(src, size.files, size.maxBytes, rng);
  await addJob(box, name, name, src, `crash-${name}`);
  const remote = join(server.home(server.users.totp.name), `crash-${name}`);
  const want = readTree(src);
  const versions = new Map([...want].map(([k, v]) => [k, [v]]));
  const expected = new Map<string, number>(); // uploads each final path should need (1 per version)
  for (const k of want.keys()) expected.set(`/crash-${name}/${k}`, 1);
  const before0 = new Map(uploadsPerPath(server));

  let kills = 0;
  let runs = 0;
  let window = proto === 'sftp' ? 2500 : 1500; // timed kills: within how long a run lasts
  const started = Date.now();
  while (kills < size.kills) {
    runs++;
    assert.ok(
      runs < size.kills * 6 + 5,
      why(
        `too many runs ended before they could be killed (TransferLog: ${[...uploadsPerPath(server).keys()].slice(0, 3)})`,
      ),
    );
    const base = completedUploads(server);
    const s = start(['run', '--job', name], box.env);
    // SFTP uploads leave no TransferLog line to watch, so its kills are timed.
    const byTime = proto === 'sftp' || rng.next() < 0.2;
    // Kill after some of the uploads still to do have landed (never all of them).
    const got = existsSync(remote) ? readTree(remote) : new Map<string, Buffer>();
    const pending = [...want].filter(([k, v]) => !got.get(k)?.equals(v)).length;
    const target = rng.int(
      1,
      Math.max(1, Math.min(pending - 1, Math.floor((2 * size.files) / (size.kills + 1)))),
    );
    const delay = rng.int(50, window);
    const t0 = Date.now();
    let exited = false;
    void s.done.then(() => {
      exited = true;
    });
    while (!exited) {
      if (byTime ? Date.now() - t0 >= delay : completedUploads(server) - base >= target) {
        s.child.kill('SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const r = await s.done;
    if (r.signal === 'SIGKILL') {
      kills++;
      // At every kill point: nothing half-written under a final name; the manifest only holds
      // files the server has.
      const bad = badFinals(versions, remote);
      assert.deepEqual(bad.torn, [], why(`kill ${kills}: final names hold torn files`));
      assert.deepEqual(bad.unknown, [], why(`kill ${kills}: unexpected final names`));
      await assertManifestMatches(box, name, remote, { all: false });
      continue;
    }
    assert.equal(r.status, 0, why(`run ${runs} (not killed) failed: ${r.stderr}`));
    window = Math.max(200, Math.floor((Date.now() - t0) * 0.9));
    // Finished before the kill: new versions of some files, so the next run has uploads to kill.
    const keys = [...want.keys()];
    for (let k = 0; k < Math.ceil(keys.length / 5); k++) {
      const rel = keys[rng.int(0, keys.length - 1)] as string;
      const buf = Buffer.from(`${rel} v${runs}-${k} ${rng.next()}`.repeat(rng.int(1, 200)));
      writeFileSync(join(src, rel), buf);
      want.set(rel, buf);
      versions.get(rel)?.push(buf);
      expected.set(`/crash-${name}/${rel}`, (expected.get(`/crash-${name}/${rel}`) ?? 1) + 1);
    }
  }
  const fin = await cli(['run', '--job', name], box.env, 300_000);
  assert.equal(fin.status, 0, why(fin.stderr));
  // No temp file either: the temp journal named those of each killed run, and the next run removed them.
  const temps = await assertConverged(box, name, src, remote);
  const last = await cli(['run', '--job', name, '--json'], box.env);
  assert.equal(last.status, 0, last.stderr);
  assert.equal(JSON.parse(last.stdout).jobs[0].files, 0, 'a last run uploads nothing');

  // Re-uploads: completed transfers beyond one per version of a file happen only for files in flight
  // at a kill (their rename was not confirmed): at most kills × concurrency in all, at most `kills` each.
  // mod_sftp writes nothing to ProFTPD's TransferLog here, so uploads are counted over FTP only.
  const after = uploadsPerPath(server);
  let again = 0;
  for (const [path, want1] of proto === 'ftp' ? expected : []) {
    const n = (after.get(path) ?? 0) - (before0.get(path) ?? 0);
    assert.ok(n >= 1, why(`${path} was uploaded (TransferLog: ${[...after.keys()].slice(0, 3)})`));
    assert.ok(n <= want1 + kills, why(`${path}: ${n} uploads for ${want1} version(s) and ${kills} kills`));
    again += Math.max(0, n - want1);
  }
  assert.ok(
    again <= kills * size.concurrency,
    why(`${again} re-uploads after ${kills} kills (concurrency ${size.concurrency})`),
  );
  t.diagnostic(
    `${proto}: seed ${seed}, ${size.files} files, ${kills} kills in ${runs} runs, ${again} re-uploads, ` +
      `${proto === 'ftp' ? '' : '(not counted) '}temp files left after ${kills} kills: ${temps.length}, ${Date.now() - started} ms`,
  );
}

test(
  'ftp: SIGKILL at random moments, rerun, nothing lost or torn',
  { skip: missing, timeout: 1_800_000 },
  (t) => crashSuite('ftp', t),
);

test(
  'sftp: SIGKILL at random moments, rerun, nothing lost or torn',
  { skip: missing, timeout: 1_800_000 },
  (t) => crashSuite('sftp', t),
);
