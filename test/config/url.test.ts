import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTargetUrl, urlPathOfRemoteDir } from '../../src/config/url.js';
import { OtpBackupError } from '../../src/errors.js';

test('parses every scheme with default ports', () => {
  assert.deepEqual(parseTargetUrl('ftp://bob@example.org/backups'), {
    protocol: 'ftp',
    host: 'example.org',
    port: 21,
    user: 'bob',
    remoteDir: 'backups',
    hasPath: true,
  });
  assert.equal(parseTargetUrl('ftpes://bob@h/').protocol, 'ftps');
  assert.equal(parseTargetUrl('ftps://bob@h/').port, 990);
  assert.equal(parseTargetUrl('ftps://bob@h/').protocol, 'ftps-implicit');
  assert.equal(parseTargetUrl('sftp://bob@h:2222/x').port, 2222);
  assert.equal(parseTargetUrl('sftp://bob@[::1]:2222/x').host, '::1');
  assert.equal(parseTargetUrl('sftp://bob@h').remoteDir, '.');
  assert.equal(parseTargetUrl('sftp://b%40x@h/a%20b').user, 'b@x');
  assert.equal(parseTargetUrl('sftp://b@h/a%20b').remoteDir, '/a b');
});

test('/~ and /~/dir are the login directory and a path below it', () => {
  for (const scheme of ['sftp', 'ftp', 'ftpes', 'ftps']) {
    assert.equal(parseTargetUrl(`${scheme}://u@h/~/backups/site`).remoteDir, 'backups/site', scheme);
    assert.equal(parseTargetUrl(`${scheme}://u@h/~/`).remoteDir, '.', scheme);
    assert.equal(parseTargetUrl(`${scheme}://u@h/~`).remoteDir, '.', scheme);
  }
  // Another user's home, or "~" inside a path, is not expanded.
  assert.equal(parseTargetUrl('sftp://u@h/~bob/x').remoteDir, '/~bob/x');
  assert.equal(parseTargetUrl('sftp://u@h/a/~/x').remoteDir, '/a/~/x');
});

test('sftp:// may leave the user out (~/.ssh/config User or the login name decide, as `sftp host`)', () => {
  assert.equal(parseTargetUrl('sftp://nas/srv').user, '');
});

test('refuses bad URLs with one-line usage errors', () => {
  const bad: [string, RegExp][] = [
    ['nonsense', /not a URL/],
    ['http://u@h/', /unsupported scheme "http"/],
    ['sftp://u:secretpw@h/', /contains a password/],
    ['ftp://h/', /no user/],
    ['sftp://u@h/x?y=1', /query/],
    ['sftp://u@h/a%0Ab', /control character/],
    ['sftp://u@h/%E0%A4%A', /percent-encoding/],
  ];
  for (const [url, re] of bad) {
    assert.throws(
      () => parseTargetUrl(url),
      (e: unknown) =>
        e instanceof OtpBackupError && e.exitCode === 2 && re.test(e.message) && !e.message.includes('\n'),
      url,
    );
  }
  // The password itself never appears in the error.
  try {
    parseTargetUrl('sftp://u:secretpw@h/');
  } catch (e) {
    assert.ok(!(e as Error).message.includes('secretpw'));
  }
});

test('remote path rules, one per scheme (#13.1): FTP relative to the login directory, SFTP absolute', () => {
  const cases: [string, string, boolean][] = [
    // every scheme: no path, "/" and "/~" are the login directory; "//" and "%2F" the server root
    ['ftp://u@h', '.', false],
    ['ftp://u@h/', '.', false],
    ['ftp://u@h:2121/', '.', false],
    ['ftp://u@h/~', '.', true],
    ['ftp://u@h/~/', '.', true],
    ['sftp://u@h', '.', false],
    ['sftp://u@h/', '.', false],
    ['sftp://u@h/~', '.', true],
    ['sftp://u@h/~/', '.', true],
    ['ftpes://u@h/', '.', false],
    ['ftps://u@h/', '.', false],
    // FTP (RFC 1738): the path is below the login directory
    ['ftp://u@h/backups', 'backups', true],
    ['ftpes://u@h/a/b/', 'a/b', true],
    ['ftps://u@h/a%20b', 'a b', true],
    ['ftp://u@h/~/backups', 'backups', true],
    ['ftp://u@h//srv/backup', '/srv/backup', true],
    ['ftp://u@h/%2Fsrv/backup', '/srv/backup', true],
    ['ftp://u@h/%2fsrv', '/srv', true],
    ['ftp://u@h//', '/', true],
    // SFTP (curl, WinSCP): the path is absolute; ~/ is below the home directory
    ['sftp://u@h/srv/backup', '/srv/backup', true],
    ['sftp://u@h/srv/backup/', '/srv/backup', true],
    ['sftp://u@h/~/backups', 'backups', true],
    ['sftp://u@h/~/a/b', 'a/b', true],
    ['sftp://u@h//srv', '/srv', true],
    ['sftp://u@h/%2Fsrv', '/srv', true],
    ['sftp://u@h/a%2Fb', '/a/b', true],
  ];
  for (const [url, dir, hasPath] of cases) {
    const t = parseTargetUrl(url);
    assert.equal(t.remoteDir, dir, url);
    assert.equal(t.hasPath, hasPath, url);
  }
});

test('urlPathOfRemoteDir writes a config directory back as a URL path that parses to it', () => {
  for (const protocol of ['ftp', 'ftps', 'ftps-implicit', 'sftp'] as const) {
    const scheme = { ftp: 'ftp', ftps: 'ftpes', 'ftps-implicit': 'ftps', sftp: 'sftp' }[protocol];
    for (const dir of ['.', 'backups', 'a b/c', '/srv/backup', '/', '~/x'])
      assert.equal(
        parseTargetUrl(`${scheme}://u@h${urlPathOfRemoteDir(protocol, dir)}`).remoteDir,
        dir === '~/x' ? 'x' : dir,
        `${protocol} ${dir}`,
      );
  }
  assert.equal(urlPathOfRemoteDir('sftp', 'backups'), '/~/backups');
  assert.equal(urlPathOfRemoteDir('sftp', '/srv'), '/srv');
  assert.equal(urlPathOfRemoteDir('ftp', '/srv'), '//srv');
  assert.equal(urlPathOfRemoteDir('ftp', 'site'), '/site');
});
