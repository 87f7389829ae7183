// SFTP transport against a real ProFTPD (mod_sftp + mod_auth_otp): keyboard-interactive only, and the
// multi-step password+keyboard-interactive / publickey+keyboard-interactive logins. Skipped locally
// when ProFTPD is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';
import { makeSftp, serverForSuite, sftpAccount, sftpTestServer, tempEnv } from './sftp-helpers.js';

const missing = requireTool('proftpd');

describe('SFTP against ProFTPD', { skip: missing }, () => {
  const t = tempEnv();
  let p: ProftpdHandle;
  serverForSuite(t, async () => (p = await startProftpd()));

  const server = (port: number, user: ProftpdHandle['users']['totp']) => sftpTestServer(p, port, user);

  test('keyboard-interactive only: "Verification code: ", then file operations in the chroot', async () => {
    const srv = server(p.ports.sftpKbd, p.users.totp);
    const tr = makeSftp(srv, sftpAccount(srv, '/', { name: 'kbd' }), t.env);
    await tr.connect();
    try {
      assert.deepEqual(
        tr.promptLog.map((e) => [e.prompt, e.rule]),
        [['Verification code: ', 'default:code']],
      );
      const local = join(t.dir, 'a.txt');
      writeFileSync(local, 'hello proftpd');
      await tr.mkdirp('/backup/2024');
      await Promise.all([tr.put(local, '/backup/2024/a.txt'), tr.put(local, '/backup/2024/b.txt')]);
      const home = p.home(p.users.totp.name);
      assert.equal(readFileSync(join(home, 'backup/2024/a.txt'), 'utf8'), 'hello proftpd');
      assert.deepEqual(
        (await tr.list('/backup/2024')).map((e) => [e.name, e.type, e.size]),
        [
          ['a.txt', 'file', 13],
          ['b.txt', 'file', 13],
        ],
      );
      await tr.rename('/backup/2024/a.txt', '/backup/2024/b.txt');
      assert.equal(await tr.stat('/backup/2024/a.txt'), undefined);
      await tr.remove('/backup/2024/b.txt');
      assert.deepEqual(await tr.list('/backup/2024'), []);

      // One small file at a time is a chain of request-reply exchanges: with Nagle's algorithm on,
      // ProFTPD's delayed ACKs held each one ~40 ms (about 260 ms a file). TCP_NODELAY: a few ms.
      const small = join(t.dir, 'small.bin');
      writeFileSync(small, Buffer.alloc(4096, 7));
      // The stall is in every put (~260 ms), so the *fastest* of 20 tells it apart from a busy machine,
      // which slows some puts but not all of them: a load of 25 made the mean 141 ms, the fastest ~20.
      let fastest = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await tr.put(small, `/backup/2024/s${i}.bin`);
        fastest = Math.min(fastest, performance.now() - t0);
      }
      assert.ok(
        fastest < 150,
        `the fastest of 20 sequential 4 KiB puts took ${fastest.toFixed(1)} ms (Nagle stall?)`,
      );
    } finally {
      await tr.close();
    }
  });

  // One account name for both multi-step logins: the second waits for a fresh step instead of
  // replaying the first one's code.
  test('password + keyboard-interactive (partial success), then publickey + keyboard-interactive', async () => {
    const srv = server(p.ports.sftpMulti, p.users.multi);
    const lines: string[] = [];
    const pw = makeSftp(srv, sftpAccount(srv, '/', { name: 'multi' }), t.env, { log: (l) => lines.push(l) });
    await pw.connect();
    assert.deepEqual(
      pw.promptLog.map((e) => e.rule),
      ['default:code'],
    );
    assert.ok(
      lines.some((l) => /trying keyboard-interactive \(partial success/.test(l)),
      lines.join('\n'),
    );
    await pw.close();

    const key = makeSftp(srv, sftpAccount(srv, '/', { name: 'multi', privateKey: p.clientKeyPath }), t.env, {
      log: (l) => lines.push(l),
    });
    await key.connect();
    assert.ok(lines.some((l) => /trying publickey/.test(l)));
    assert.deepEqual(
      key.promptLog.map((e) => e.rule),
      ['default:code'],
    );
    const local = join(t.dir, 'k.txt');
    writeFileSync(local, 'via key');
    await key.put(local, '/k.txt');
    assert.equal(readFileSync(join(p.home(p.users.multi.name), 'k.txt'), 'utf8'), 'via key');
    await key.close();

    const all = lines.join('\n');
    for (const s of [p.users.multi.password, p.users.multi.secret]) assert.ok(!all.includes(s));
  });

  test('no login was refused by the server', async () => {
    assert.equal(await p.failedLogins(), 0, await p.logTail(30));
  });
});
