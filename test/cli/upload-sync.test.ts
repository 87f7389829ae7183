// `upload --sync` as a CI pipeline runs it (#17.1): three runs — everything, nothing, one changed
// file — send exactly those files, counted on ProFTPD's own transfer log; a file changed on the
// server by hand is noticed and sent again; --include, --exclude-from and .otpbackupignore decide
// what is sent; --json counts sent, unchanged and deleted. Over FTP and SFTP.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cli, readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { requireTool } from '../support/require.js';

const missing = requireTool('proftpd');

let p: ProftpdHandle;
let box: Sandbox;
before(async () => {
  if (missing) return;
  p = await startProftpd();
  box = sandbox('otpbackup-sync-');
});
after(async () => {
  await p?.stop();
  box?.cleanup();
});

/** Inode of every file below `dir` on the server: an upload lands by rename, so a sent file gets a new one. */
function inodes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string, pre: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const rel = pre ? `${pre}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), rel);
      else out.set(rel, statSync(join(d, e.name)).ino);
    }
  };
  walk(dir, '');
  return out;
}

/** Files (relative) whose inode is new since `before`: the ones that were sent. */
function sentSince(before: Map<string, number>, dir: string): string[] {
  return [...inodes(dir)]
    .filter(([k, ino]) => before.get(k) !== ino)
    .map(([k]) => k)
    .sort();
}

/** Incoming FTP transfers ProFTPD logged so far for paths below `dir` (xferlog: direction "i").
 *  mod_sftp logs only some of many concurrent uploads, so SFTP is counted by inodes alone. */
function received(dir: string): string[] {
  const log = readFileSync(join(p.dir, 'log', 'xfer.log'), 'utf8');
  return log
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f.length > 12 && f[11] === 'i' && (f[8] ?? '').includes(`/${dir}/`))
    .map((f) => f[8]!);
}

for (const proto of ['ftp', 'sftp'] as const) {
  describe(`upload --sync over ${proto} (ProFTPD)`, { skip: missing }, () => {
    const dest = `sync-${proto}`;
    let src: string;
    const url = () =>
      proto === 'ftp'
        ? `ftp://${p.users.totp.name}@127.0.0.1:${p.ports.ftp}/${dest}`
        : `sftp://${p.users.totp.name}@127.0.0.1:${p.ports.sftpKbd}/${dest}`;
    const args = () => [
      '--to',
      url(),
      '--otp-reuse',
      'allow',
      ...(proto === 'ftp' ? ['--template', '${TOTP}'] : ['--host-key', p.sshHostKeyFingerprint]),
    ];
    const env = () => ({ ...box.env, CI: 'true', OTPBACKUP_TOTP_SECRET: p.users.totp.secret });
    const sync = async (extra: string[] = []) => {
      const r = await cli(['upload', src, ...args(), '--sync', '--json', ...extra], env());
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { files: number; unchanged: number; deleted: number; bytes: number };
    };

    before(() => {
      src = join(box.dir, `site-${proto}`);
      mkdirSync(join(src, 'css'), { recursive: true });
      writeFileSync(join(src, 'index.html'), '<h1>v1</h1>\n');
      writeFileSync(join(src, 'css', 'site.css'), 'body{}\n');
      writeFileSync(join(src, 'about.html'), '<p>about</p>\n');
    });

    test('all, then nothing, then the one changed file — counted on the server', async () => {
      const root = () => join(p.home(p.users.totp.name), dest);
      const a = await sync();
      assert.deepEqual([a.files, a.unchanged], [3, 0]);
      if (proto === 'ftp') assert.equal(received(dest).length, 3);
      let before = inodes(root());
      const b = await sync();
      assert.deepEqual([b.files, b.unchanged], [0, 3]);
      assert.deepEqual(sentSince(before, root()), [], 'a second identical run sends nothing');
      if (proto === 'ftp') assert.equal(received(dest).length, 3, 'nothing in the transfer log either');
      writeFileSync(join(src, 'index.html'), '<h1>v2</h1>\n');
      const t = Date.now() / 1000 + 5; // a new mtime even within the same second
      utimesSync(join(src, 'index.html'), t, t);
      before = inodes(root());
      const c = await sync();
      assert.deepEqual([c.files, c.unchanged], [1, 2]);
      assert.deepEqual(sentSince(before, root()), ['index.html']);
      if (proto === 'ftp') assert.equal(received(dest).length, 4);
      assert.equal(
        readTree(join(p.home(p.users.totp.name), dest))
          .get('index.html')
          ?.toString(),
        '<h1>v2</h1>\n',
      );
    });

    test('a single file as the source: a second --sync sends nothing', async () => {
      const file = join(box.dir, `single-${proto}.txt`);
      writeFileSync(file, 'just one file\n');
      const one = async () => {
        // Its own remote directory: the --delete test below mirrors `dest`.
        const own = args().map((a) => (a === url() ? `${url()}-single` : a));
        const r = await cli(['upload', file, ...own, '--sync', '--json'], env());
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as { files: number; unchanged: number };
      };
      assert.equal((await one()).files, 1);
      const again = await one();
      assert.deepEqual([again.files, again.unchanged], [0, 1]);
    });

    test('a file changed on the server by hand is noticed and sent again', async () => {
      const onServer = join(p.home(p.users.totp.name), dest, 'about.html');
      writeFileSync(onServer, '<p>defaced by hand</p>\n');
      const r = await sync();
      assert.equal(r.files, 1);
      assert.equal(readFileSync(onServer, 'utf8'), '<p>about</p>\n');
    });

    test('--delete with --sync removes what is gone locally; --json counts it', async () => {
      const { rmSync } = await import('node:fs');
      rmSync(join(src, 'about.html'));
      const r = await sync(['--delete', '--force']);
      assert.deepEqual([r.files, r.unchanged, r.deleted], [0, 2, 1]);
    });

    test('--include, --exclude-from and .otpbackupignore decide what is sent', async () => {
      writeFileSync(join(src, 'notes.tmp'), 'scratch\n');
      writeFileSync(join(src, 'secret.key'), 'not for the web\n');
      writeFileSync(join(src, '.otpbackupignore'), '# local files\n*.tmp\n');
      const list = join(box.dir, `exclude-${proto}.txt`);
      writeFileSync(list, 'secret.key\n');
      const r = await sync(['--exclude-from', list]);
      assert.equal(r.files, 0, 'neither the ignored files nor .otpbackupignore itself are sent');
      const tree = readTree(join(p.home(p.users.totp.name), dest));
      assert.ok(!tree.has('notes.tmp') && !tree.has('secret.key') && !tree.has('.otpbackupignore'));
      writeFileSync(join(src, 'css', 'print.css'), '@media print{}\n');
      const inc = await sync(['--include', '*.css']);
      assert.equal(inc.files, 1, 'only the new css file');
    });
  });
}
