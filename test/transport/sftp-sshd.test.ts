// The SFTP transport against stock OpenSSH sshd (Debian's openssh-server, its own sftp-server) with
// TOTP through PAM keyboard-interactive: pam_unix "Password: ", then pam_google_authenticator
// "Verification code: " with DISALLOW_REUSE. The conformance suite runs in the (non-chrooted) home,
// by absolute path; then the multi-step publickey,keyboard-interactive login and a relative path.
// Skipped locally when sshd or root is missing; a failure when CI=true.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type SshdHandle, startSshd } from '../servers/sshd.js';
import { requireTool } from '../support/require.js';
import {
  makeSftp,
  serverForSuite,
  sftpAccount,
  sftpSuiteTarget,
  sftpTestServer,
  tempEnv,
} from './sftp-helpers.js';
import { transportSuite } from './suite.js';

const missing = requireTool('sshd');

if (!missing) {
  transportSuite('sftp (OpenSSH sshd + sftp-server, PAM pam_unix + pam_google_authenticator)', async () => {
    const s = await startSshd();
    const u = s.users.totp;
    const base = join(s.home(u.name), 'suite');
    return sftpSuiteTarget({
      srv: sftpTestServer(s, s.ports.kbd, u),
      remoteBase: base, // no chroot: the home is an ordinary absolute path
      localRoot: base,
      loginDir: { local: s.home(u.name), remote: s.home(u.name) },
      failedLogins: () => s.failedLogins(),
      teardown: () => s.stop(),
    });
  });
}

describe('SFTP against OpenSSH sshd', { skip: missing }, () => {
  const t = tempEnv();
  let s: SshdHandle;
  serverForSuite(t, async () => (s = await startSshd()));

  test('keyboard-interactive asks "Password: " then "Verification code: "; a relative path is the home', async () => {
    const u = s.users.reuse;
    const srv = sftpTestServer(s, s.ports.kbd, u);
    const tr = makeSftp(srv, sftpAccount(srv, '.', { name: 'kbd' }), t.env);
    await tr.connect();
    try {
      assert.deepEqual(
        tr.promptLog.map((e) => [e.prompt, e.rule]),
        [
          ['Password: ', 'default:password'],
          ['Verification code: ', 'default:code'],
        ],
      );
      const local = join(t.dir, 'rel.txt');
      writeFileSync(local, 'relative to the home');
      await tr.mkdirp('rel/dir');
      await tr.put(local, 'rel/dir/f.txt');
      assert.equal(readFileSync(join(s.home(u.name), 'rel/dir/f.txt'), 'utf8'), 'relative to the home');
      assert.deepEqual(
        (await tr.list('rel/dir')).map((e) => [e.name, e.path]),
        // Paths come back absolute, as the server names them: the home was resolved at login.
        [['f.txt', join(s.home(u.name), 'rel/dir/f.txt')]],
      );
    } finally {
      await tr.close();
    }
  });

  test('publickey,keyboard-interactive: the key, then PAM password and code', async () => {
    const u = s.users.reuse;
    const srv = sftpTestServer(s, s.ports.keyKbd, u);
    const lines: string[] = [];
    const before = await s.failedLogins();
    const tr = makeSftp(srv, sftpAccount(srv, '.', { name: 'keykbd', privateKey: s.clientKeyPath }), t.env, {
      log: (l) => lines.push(l),
    });
    await tr.connect();
    try {
      assert.ok(
        lines.some((l) => /trying keyboard-interactive \(partial success so far\)/.test(l)),
        lines.join('\n'),
      );
      assert.equal((await tr.stat(s.home(u.name)))?.type, 'dir');
    } finally {
      await tr.close();
    }
    assert.equal(await s.failedLogins(), before, 'no refused userauth');
  });

  test('RATE_LIMIT 3 30: a wrong seed spends at most 2 of the 3 attempts; the right one still gets in', async () => {
    const u = s.users.limited;
    const before = await s.failedLogins();
    // Its own account name (state) and 1 s steps: the one retry comes at once, inside the 30 s.
    const wrong = {
      ...sftpTestServer(s, s.ports.kbd, u),
      secret: 'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U',
      period: 1,
    };
    const bad = makeSftp(wrong, sftpAccount(wrong, '.', { name: 'limited-wrong' }), t.env);
    const err = await bad.connect().catch((e: unknown) => e);
    await bad.close();
    assert.equal((err as { exitCode?: number }).exitCode, 4, String(err));
    const refused = (await s.failedLogins()) - before;
    assert.ok(refused >= 1 && refused <= 2, `${refused} refused logins`);
    const srv = sftpTestServer(s, s.ports.kbd, u);
    const ok = makeSftp(srv, sftpAccount(srv, '.', { name: 'limited-ok' }), t.env);
    await ok.connect();
    try {
      assert.equal((await ok.stat(s.home(u.name)))?.type, 'dir');
    } finally {
      await ok.close();
    }
  });

  test('a wrong password is refused before a code is asked for (no code spent)', async () => {
    const u = s.users.reuse;
    // 1 s steps: the one retry (in a fresh step) comes at once; no code is ever asked for anyway.
    const srv = { ...sftpTestServer(s, s.ports.kbd, u), password: 'not-the-password', period: 1 };
    const tr = makeSftp(srv, sftpAccount(srv, '.', { name: 'wrongpw', timeout: 10 }), t.env);
    const err = await tr.connect().catch((e: unknown) => e);
    await tr.close();
    assert.ok(err instanceof Error && (err as { exitCode?: number }).exitCode === 4, String(err));
    assert.ok(
      tr.promptLog.every((e) => !e.usesCode),
      JSON.stringify(tr.promptLog),
    );
  });
});
