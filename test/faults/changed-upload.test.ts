// Files that change while they are uploaded, against the real ProFTPD over FTP and SFTP (#14.1,
// #14.5): the engine and the real transports in this process, the link slowed by a pacing proxy so
// the change lands mid-transfer, triggered by the transfer's own progress (no timing guesses).
//  - rewritten in place in two regions, same size: the remote keeps the old copy byte for byte, the
//    temp file is dropped, the run is partial (exit 3), and the next run sends the new content;
//  - shrunk (logrotate copytruncate) or grown: reported as changed, never a hang (ssh2's fastPut
//    re-read at EOF forever), the temp file dropped.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runJob } from '../../src/backup/engine.js';
import { overallExitCode } from '../../src/backup/run-due.js';
import type { JobResult } from '../../src/backup/types.js';
import type { Account, Job } from '../../src/config/types.js';
import { Manifest } from '../../src/scan/manifest.js';
import { systemClock } from '../../src/schedule/clock.js';
import { FtpTransport } from '../../src/transport/ftp/transport.js';
import { createCredentialSource } from '../../src/transport/login.js';
import type { Transport } from '../../src/transport/types.js';
import { silentReporter } from '../../src/ui/reporter.js';
import { TEMP_MARK } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { makeSftp, sftpAccount } from '../transport/sftp-helpers.js';
import { proftpdMissing } from './helpers.js';
import { FaultProxy } from './proxy.js';

const missing = proftpdMissing();
const MiB = 1024 * 1024;
/** 12 MiB at 8 MiB/s: about 1.5 s a transfer, several progress reports (FTP reports every 0.5 s). */
const SIZE = 12 * MiB;
const RATE = 8 * MiB;

let server: ProftpdHandle;
let dir: string;
before(async () => {
  if (missing) return;
  server = await startProftpd();
  dir = mkdtempSync(join(tmpdir(), 'otpbackup-changed-'));
});
after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function pattern(byte: number, size = SIZE): Buffer {
  const b = Buffer.alloc(size, byte);
  for (let i = 0; i < size; i += 4096) b.writeUInt32BE(i, i); // offsets: a torn copy shows where
  return b;
}

/** Overwrites `len` bytes at `pos` in place (same inode, same size). */
function overwrite(path: string, pos: number, len: number, byte: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(len, byte), 0, len, pos);
  } finally {
    closeSync(fd);
  }
}

for (const proto of ['ftp', 'sftp'] as const) {
  describe(`a file changing during its upload over ${proto.toUpperCase()}`, {
    skip: missing ?? false,
    timeout: 120_000,
  }, () => {
    let proxy: FaultProxy;
    let transport: Transport;
    let src: string;
    let state: string;
    let remote: string;
    const remoteDir = `/changed-${proto}`;

    before(async () => {
      const u = server.users.totp;
      proxy = await new FaultProxy(proto === 'ftp' ? server.ports.ftp : server.ports.sftpKbd, {
        ftp: proto === 'ftp',
        rate: RATE,
      }).start();
      src = join(dir, proto, 'src');
      state = join(dir, proto, 'state');
      mkdirSync(src, { recursive: true });
      remote = join(server.home(u.name), remoteDir);
      const env = { HOME: join(dir, proto), XDG_STATE_HOME: join(dir, proto, 'xdg') };
      if (proto === 'sftp') {
        const srv = {
          port: proxy.port,
          user: u.name,
          password: u.password,
          secret: u.secret,
          hostKeyFingerprint: server.sshHostKeyFingerprint,
        };
        transport = makeSftp(srv, sftpAccount(srv, '/', { name: 'changed-sftp' }), env);
      } else {
        const account: Account = {
          name: 'changed-ftp',
          protocol: 'ftp',
          host: '127.0.0.1',
          port: proxy.port,
          user: u.name,
          remoteDir: '/',
          template: '${OTP}',
          otp: {
            type: 'totp',
            secret: 'ref:seed',
            algorithm: 'sha1',
            digits: 6,
            period: 30,
            t0: 0,
            reuse: 'allow',
            marginSeconds: 2,
          },
          trust: {},
          timeout: 10,
        };
        const credentials = createCredentialSource({
          account,
          env,
          clock: systemClock,
          getSecret: async () => u.secret,
        });
        transport = new FtpTransport({ account, credentials, clock: systemClock });
      }
      await transport.connect();
    });
    after(async () => {
      await transport?.close();
      await proxy?.stop();
    });

    const job: Job = {
      name: `changed-${proto}`,
      account: 'x',
      sources: [],
      remoteDir,
      schedule: '@daily',
      symlinks: 'skip',
      mode: 'mirror',
      delete: false,
      checksum: false,
    };

    /** One run; `mid(bytes)` is called on each progress report of the transfer. */
    async function run(mid?: (bytes: number) => void, over: Partial<Job> = {}): Promise<JobResult> {
      const manifest = await Manifest.load(state);
      try {
        return await runJob(
          { ...job, sources: [src], ...over },
          {
            transport,
            manifest,
            clock: systemClock,
            remoteRoot: remoteDir,
            reporter: { ...silentReporter, progress: (_j, bytes) => mid?.(bytes) },
          },
        );
      } finally {
        manifest.close();
      }
    }

    /** Calls `fn` once, on the first progress report inside the transfer. basic-ftp samples its
     *  progress every 500 ms, and on an idle machine the socket buffers take megabytes at once, so
     *  the first report can be well past the middle: any byte count short of the end will do. */
    function once(fn: () => void): (bytes: number) => void {
      let done = false;
      return (bytes) => {
        if (done || bytes < 256 * 1024 || bytes >= SIZE) return;
        done = true;
        fn();
      };
    }

    const temps = () => readdirSync(remote).filter((n) => n.includes(TEMP_MARK));

    test('rewritten in two regions mid-upload (same size): the old copy stays byte-equal, exit 3, sent next run', async () => {
      const file = join(src, 'db.img');
      const good = pattern(0xaa);
      writeFileSync(file, good);
      const first = await run();
      assert.equal(first.outcome, 'ok', JSON.stringify(first));
      assert.ok(readFileSync(join(remote, 'db.img')).equals(good));

      writeFileSync(file, pattern(0xbb)); // the new version, rewritten again while it is sent
      let rewritten = false;
      const r = await run(
        once(() => {
          overwrite(file, 64 * 1024, 64 * 1024, 0xcc); // already sent
          overwrite(file, SIZE - 128 * 1024, 64 * 1024, 0xcc); // not read yet
          rewritten = true;
        }),
      );
      assert.ok(rewritten, 'the rewrite happened during the transfer');
      assert.equal(r.outcome, 'partial', JSON.stringify(r));
      assert.equal(overallExitCode([r]), 3);
      assert.deepEqual(
        r.failed.map((f) => f.path),
        ['db.img'],
      );
      assert.match(r.failed[0]!.reason, /changed while being uploaded; the old remote copy is kept/);
      assert.ok(readFileSync(join(remote, 'db.img')).equals(good), 'the old good copy, byte for byte');
      assert.deepEqual(temps(), [], 'the temp file is dropped');

      const next = await run();
      assert.equal(next.outcome, 'ok', JSON.stringify(next));
      assert.equal(next.files, 1);
      assert.ok(readFileSync(join(remote, 'db.img')).equals(readFileSync(file)), 'the new content');
    });

    test('shrunk mid-upload (copytruncate): reported as changed, no hang, temp dropped', async () => {
      const file = join(src, 'app.log');
      writeFileSync(file, pattern(0x11));
      const cpu = process.cpuUsage();
      const r = await run(
        once(() => {
          truncateSync(file, 0);
          appendFileSync(file, 'a new line after the rotation\n');
        }),
      );
      const used = process.cpuUsage(cpu);
      assert.equal(r.outcome, 'partial', JSON.stringify(r));
      assert.deepEqual(
        r.failed.map((f) => f.path),
        ['app.log'],
      );
      assert.match(r.failed[0]!.reason, /changed while being uploaded/);
      assert.deepEqual(
        readdirSync(remote).filter((n) => n.includes('app.log')),
        [],
        'neither a final nor a temp file',
      );
      // A spin at EOF would burn CPU until the test's timeout; the whole run costs far less.
      assert.ok((used.user + used.system) / 1e6 < 10, `CPU ${(used.user + used.system) / 1e6} s`);
      const next = await run();
      assert.equal(next.files, 1, JSON.stringify(next));
      assert.ok(readFileSync(join(remote, 'app.log')).equals(readFileSync(file)));
    });

    test('grown mid-upload: reported as changed, temp dropped, the whole file sent next run', async () => {
      const file = join(src, 'grow.log');
      writeFileSync(file, pattern(0x22));
      const r = await run(once(() => appendFileSync(file, pattern(0x33, MiB))));
      assert.equal(r.outcome, 'partial', JSON.stringify(r));
      assert.match(r.failed[0]!.reason, /changed while being uploaded/);
      assert.deepEqual(
        readdirSync(remote).filter((n) => n.includes('grow.log')),
        [],
      );
      const next = await run();
      assert.equal(next.files, 1, JSON.stringify(next));
      assert.ok(readFileSync(join(remote, 'grow.log')).equals(readFileSync(file)));
    });

    test('--follow-symlinks: a linked file is sent with its own size, then left alone (#14.4)', async () => {
      const target = join(dir, proto, 'target.txt');
      writeFileSync(target, 'x'.repeat(2301));
      symlinkSync(target, join(src, 'link.txt'));
      const r = await run(undefined, { symlinks: 'follow' });
      assert.deepEqual(r.failed, []);
      assert.equal(r.files, 1);
      assert.equal(readFileSync(join(remote, 'link.txt'), 'utf8'), 'x'.repeat(2301));
      const again = await run(undefined, { symlinks: 'follow' });
      assert.equal(again.files, 0, JSON.stringify(again));
    });
  });
}
