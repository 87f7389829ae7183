// Names that are not valid UTF-8 (#14.2), end to end with the built CLI against real servers:
// ProFTPD (FTP and SFTP), vsftpd (FTP) and OpenSSH sshd (SFTP). The source tree holds a Latin-1
// file name `r\xe9sum\xe9.txt` and a Latin-1 directory `d\xe9j\xe0/` (made with Buffer paths).
//   - FTP carries bytes: both files land under exactly those bytes, the manifest records them
//     (each such byte as a "\udcXX" JSON escape: unambiguous), the next run sends nothing, a change
//     is sent again, a local delete removes the remote copy, and `restore` brings them back under
//     the same bytes.
//   - SFTP (ssh2 writes every path as UTF-8): each such file is failed by name (exit 3), every run,
//     and nothing reaches the server under any other name.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { jobStateDir } from '../../src/config/paths.js';
import { Manifest } from '../../src/scan/manifest.js';
import { addAccount, addJob, proftpdMissing } from '../faults/helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshdHandle, sshdUnavailable, startSshd } from '../servers/sshd.js';
import { startVsftpd, type VsftpdHandle, vsftpdUnavailable } from '../servers/vsftpd.js';
import { allowReuse, cli, type Sandbox, sandbox } from './e2e-helpers.js';

const noProftpd = proftpdMissing();
const noSshd = sshdUnavailable();
const noVsftpd = vsftpdUnavailable();
if (process.env.CI === 'true' && (noSshd || noVsftpd))
  throw new Error(`CI=true but a stock server cannot run: ${noSshd ?? noVsftpd}`);

const E9 = Buffer.from([0xe9]);
const FILE = Buffer.concat([Buffer.from('r'), E9, Buffer.from('sum'), E9, Buffer.from('.txt')]);
const DIR = Buffer.concat([Buffer.from('d'), E9, Buffer.from('j'), Buffer.from([0xe0])]);
const at = (dir: string, ...parts: Buffer[]) =>
  Buffer.concat([Buffer.from(dir), ...parts.flatMap((p) => [Buffer.from('/'), p])]);

const boxes: Sandbox[] = [];
after(() => {
  for (const b of boxes) b.cleanup();
});

interface Summary {
  files: number;
  unchanged: number;
  deleted: number;
  failed: { path: string; reason: string }[];
}
async function run(
  box: Sandbox,
  job: string,
): Promise<{ status: number | null; j: Summary; stderr: string }> {
  const r = await cli(['run', '--job', job, '--json'], box.env);
  return {
    status: r.status,
    j: JSON.parse(r.stdout || '{"jobs":[{}]}').jobs[0] as Summary,
    stderr: r.stderr,
  };
}

/** A source tree with the two Latin-1 names and a plain one. */
function sources(box: Sandbox): string {
  const src = join(box.dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(at(src, FILE), 'latin-1 name\n');
  mkdirSync(at(src, DIR));
  writeFileSync(at(src, DIR, Buffer.from('inside.txt')), 'inside a latin-1 directory\n');
  writeFileSync(join(src, 'plain.txt'), 'plain\n');
  return src;
}

/** Names below `dir` as raw bytes (hex), recursively: what the server's disk holds. */
function rawTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: Buffer, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true, encoding: 'buffer' })) {
      const r = rel ? `${rel}/${e.name.toString('hex')}` : e.name.toString('hex');
      if (e.isDirectory()) walk(Buffer.concat([d, Buffer.from('/'), e.name]), r);
      else out.push(r);
    }
  };
  walk(Buffer.from(dir), '');
  return out.sort();
}

async function ftpCase(box: Sandbox, job: string, remote: string) {
  const src = sources(box);
  const first = await run(box, job);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual([first.j.files, first.j.failed], [3, []]);
  assert.equal(readFileSync(at(remote, FILE), 'utf8'), 'latin-1 name\n', 'stored under the same bytes');
  assert.equal(
    readFileSync(at(remote, DIR, Buffer.from('inside.txt')), 'utf8'),
    'inside a latin-1 directory\n',
  );
  const hex = (s: string) => Buffer.from(s).toString('hex');
  assert.deepEqual(
    rawTree(remote),
    [`${DIR.toString('hex')}/${hex('inside.txt')}`, hex('plain.txt'), FILE.toString('hex')].sort(),
    'nothing else on the server (no U+FFFD twin, no temp file)',
  );
  // The manifest names them unambiguously: each byte that is not UTF-8 as a "\udcXX" escape.
  const snap = readFileSync(Manifest.snapshotPath(jobStateDir(box.env, job)), 'utf8');
  assert.match(snap, /"r\\udce9sum\\udce9\.txt"/);
  assert.match(snap, /"d\\udce9j\\udce0\/inside\.txt"/);

  const second = await run(box, job);
  assert.deepEqual([second.status, second.j.files, second.j.unchanged], [0, 0, 3], 'nothing is sent again');

  // Restore brings them back under the same bytes (the listing is read as bytes too).
  const to = join(box.dir, 'restored');
  const back = await cli(['restore', job, '--to', to, '--json'], box.env);
  assert.equal(back.status, 0, back.stderr);
  assert.equal(JSON.parse(back.stdout).restored, 3, back.stdout);
  assert.equal(readFileSync(at(to, FILE), 'utf8'), 'latin-1 name\n');
  assert.equal(readFileSync(at(to, DIR, Buffer.from('inside.txt')), 'utf8'), 'inside a latin-1 directory\n');
  const ls = await cli(['ls', job], box.env);
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, / r\\xe9sum\\xe9\.txt\n/, 'ls shows the bytes as \\xNN');
  assert.match(ls.stdout, / d\\xe9j\\xe0\/inside\.txt\n/);

  writeFileSync(at(src, FILE), 'latin-1 name, changed\n');
  const third = await run(box, job);
  assert.deepEqual([third.status, third.j.files], [0, 1], third.stderr);
  assert.equal(readFileSync(at(remote, FILE), 'utf8'), 'latin-1 name, changed\n');

  rmSync(at(src, DIR), { recursive: true });
  const fourth = await run(box, job);
  assert.deepEqual([fourth.status, fourth.j.deleted], [0, 1], fourth.stderr);
  assert.deepEqual(
    rawTree(remote).filter((p) => p.startsWith(DIR.toString('hex'))),
    [],
    'the local delete reached the server',
  );
}

async function sftpCase(box: Sandbox, job: string, remote: string) {
  sources(box);
  for (const round of ['first', 'second']) {
    const r = await run(box, job);
    assert.equal(r.status, 3, `${round} run: ${r.stderr}`);
    assert.equal(r.j.files, round === 'first' ? 1 : 0, 'plain.txt is sent');
    const failed = r.j.failed.map((f) => `${f.path}: ${f.reason}`).sort();
    assert.equal(failed.length, 2, failed.join('\n'));
    assert.match(
      failed[0] ?? '',
      /\/d\\xe9j\\xe0\/inside\.txt: name is not valid UTF-8, and SFTP here sends UTF-8 names only/,
    );
    assert.match(failed[1] ?? '', /\/r\\xe9sum\\xe9\.txt: name is not valid UTF-8, .* rename it/);
  }
  const plain = await cli(['run', '--job', job], box.env);
  assert.equal(plain.status, 3);
  assert.match(plain.stderr, /r\\xe9sum\\xe9\.txt: name is not valid UTF-8/, 'each is named on stderr');
  assert.deepEqual(rawTree(remote), [Buffer.from('plain.txt').toString('hex')], 'nothing under another name');
}

describe('names that are not UTF-8 on ProFTPD', { skip: noProftpd, concurrency: true }, () => {
  let server: ProftpdHandle;
  before(async () => {
    server = await startProftpd();
  });
  after(() => server?.stop());
  for (const proto of ['ftp', 'sftp'] as const) {
    test(`${proto}: ${proto === 'ftp' ? 'sent under the same bytes, recorded, not sent again' : 'each is failed by name (exit 3), every run'}`, async () => {
      const box = sandbox(`otpbackup-raw-${proto}-`);
      boxes.push(box);
      const job = `raw${proto}`;
      await addAccount(box, server, job, proto, { reuse: true });
      await addJob(box, job, job, join(box.dir, 'src'), job);
      const remote = join(server.home(server.users.totp.name), job);
      await (proto === 'ftp' ? ftpCase : sftpCase)(box, job, remote);
    });
  }
});

/** An account on a stock server (password + code), reuse allowed, and a job `name` into `dir`. */
async function stockJob(
  box: Sandbox,
  name: string,
  url: string,
  u: { password: string; secret: string },
  extra: string[],
) {
  const add = await cli(
    [
      'account',
      'add',
      name,
      '--url',
      url,
      '--password-env',
      'P',
      '--totp-secret-env',
      'S',
      '--store',
      'vault',
      '--no-test',
      ...extra,
    ],
    { ...box.env, S: u.secret, P: u.password },
  );
  assert.equal(add.status, 0, add.stderr);
  await allowReuse(box.env, name);
  await addJob(box, name, name, join(box.dir, 'src'), name);
}

describe('names that are not UTF-8 on vsftpd (FTP)', { skip: noVsftpd }, () => {
  let v: VsftpdHandle;
  before(async () => {
    v = await startVsftpd();
  });
  after(() => v?.stop());
  test('ftp: sent under the same bytes, recorded, not sent again', async () => {
    const box = sandbox('otpbackup-raw-vsftpd-');
    boxes.push(box);
    const u = v.users.reuse;
    await stockJob(box, 'rawvsftpd', `ftp://${u.name}@127.0.0.1:${v.ports.ftp}/`, u, []);
    await ftpCase(box, 'rawvsftpd', join(v.home(u.name), 'rawvsftpd'));
  });
});

describe('names that are not UTF-8 on OpenSSH sshd (SFTP)', { skip: noSshd }, () => {
  let s: SshdHandle;
  before(async () => {
    s = await startSshd();
  });
  after(() => s?.stop());
  test('sftp: each is failed by name (exit 3), every run', async () => {
    const box = sandbox('otpbackup-raw-sshd-');
    boxes.push(box);
    const u = s.users.reuse;
    await stockJob(box, 'rawsshd', `sftp://${u.name}@127.0.0.1:${s.ports.kbd}/~/`, u, [
      '--trust-host-key',
      s.sshHostKeyFingerprint,
    ]);
    await sftpCase(box, 'rawsshd', join(s.home(u.name), 'rawsshd'));
  });
});
