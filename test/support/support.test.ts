// The test layer's own rules: a missing part is a skip locally and a failure under CI=true; the
// shared ProFTPD is one process for all its users and stops with the last release.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alive } from '../servers/proftpd.js';
import { acquireProftpd, releaseProftpd } from './proftpd.js';
import { required, requireTool } from './require.js';

function withCi<T>(value: string | undefined, f: () => T): T {
  const old = process.env.CI;
  if (value === undefined) delete process.env.CI;
  else process.env.CI = value;
  try {
    return f();
  } finally {
    if (old === undefined) delete process.env.CI;
    else process.env.CI = old;
  }
}

describe('requireTool', () => {
  test('a program on PATH is no skip; a missing one is a skip naming it, or a throw under CI=true', () => {
    assert.equal(requireTool('sh'), false);
    const none = 'otpbackup-no-such-program';
    const skip = withCi(undefined, () => requireTool('sh', none));
    assert.equal(typeof skip, 'string');
    assert.match(String(skip), new RegExp(`^${none}: not on PATH`));
    assert.throws(
      () => withCi('true', () => requireTool(none)),
      new RegExp(`CI=true but ${none} cannot run`),
    );
    // Only the exact value counts, as everywhere else in the suite.
    assert.equal(typeof withCi('1', () => requireTool(none)), 'string');
  });

  test('required() passes a present part and words the reason of a missing one', () => {
    assert.equal(required('tmpfs', undefined), false);
    assert.equal(
      withCi(undefined, () => required('tmpfs', 'mount: permission denied')),
      'tmpfs: mount: permission denied',
    );
    assert.throws(
      () => withCi('true', () => required('tmpfs', 'denied')),
      /CI=true but tmpfs cannot run: denied/,
    );
  });
});

describe('shared ProFTPD', { skip: requireTool('proftpd') }, () => {
  test('two users get the same server; it stops with the last release', async () => {
    const a = await acquireProftpd();
    const b = await acquireProftpd();
    assert.equal(a, b, 'one server for both');
    await releaseProftpd();
    assert.ok(alive(a.pid), 'still running for the second user');
    await releaseProftpd();
    assert.equal(alive(a.pid), false, 'stopped after the last release');
    const c = await acquireProftpd();
    try {
      assert.notEqual(c.pid, a.pid, 'a later user gets a fresh server');
    } finally {
      await releaseProftpd();
    }
  });
});
