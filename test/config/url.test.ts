import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTargetUrl } from '../../src/config/url.js';
import { OtpBackupError } from '../../src/errors.js';

test('parses every scheme with default ports', () => {
  assert.deepEqual(parseTargetUrl('ftp://bob@example.org/backups'), {
    protocol: 'ftp',
    host: 'example.org',
    port: 21,
    user: 'bob',
    remoteDir: '/backups',
  });
  assert.equal(parseTargetUrl('ftpes://bob@h/').protocol, 'ftps');
  assert.equal(parseTargetUrl('ftps://bob@h/').port, 990);
  assert.equal(parseTargetUrl('ftps://bob@h/').protocol, 'ftps-implicit');
  assert.equal(parseTargetUrl('sftp://bob@h:2222/x').port, 2222);
  assert.equal(parseTargetUrl('sftp://bob@[::1]:2222/x').host, '::1');
  assert.equal(parseTargetUrl('sftp://bob@h').remoteDir, '/');
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

test('refuses bad URLs with one-line usage errors', () => {
  const bad: [string, RegExp][] = [
    ['nonsense', /not a URL/],
    ['http://u@h/', /unsupported scheme "http"/],
    ['sftp://u:secretpw@h/', /contains a password/],
    ['sftp://h/', /no user/],
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
