import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { knownHostsPath } from '../../src/config/paths.js';
import { OtpBackupError } from '../../src/errors.js';
import {
  fingerprintOf,
  hostLookupName,
  keyTypeOf,
  knownHostsLine,
  normalizeFingerprint,
  parseKnownHosts,
  patternsMatch,
  verifyHostKey,
} from '../../src/transport/sftp/hostkeys.js';
import { generateEd25519 } from '../servers/ssh-inprocess.js';
import { tempEnv } from './sftp-helpers.js';

function newKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { blob: Buffer; line: string } {
  const pair = type === 'ecdsa' ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }) : generateEd25519();
  const parsed = ssh2.utils.parseKey(pair.public);
  if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('bad key');
  return { blob: parsed.getPublicSSH(), line: pair.public.trim() };
}

const t = tempEnv();
after(() => t.cleanup());
const userKnownHosts = join(t.env.HOME as string, '.ssh', 'known_hosts');
mkdirSync(join(t.env.HOME as string, '.ssh'), { recursive: true });

function expectTrustError(
  fn: () => unknown,
  re: RegExp,
  code: 'trust' | 'trust-changed' = 'trust',
): OtpBackupError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof OtpBackupError, `expected an OtpBackupError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.match(caught.message, re);
  return caught;
}

describe('fingerprints', () => {
  test('match ssh-keygen -l', () => {
    const k = newKey();
    const f = join(t.dir, 'k.pub');
    writeFileSync(f, `${k.line}\n`);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', f], { encoding: 'utf8' });
    const fp = out.split(/\s+/)[1];
    assert.equal(fingerprintOf(k.blob), fp);
    assert.equal(keyTypeOf(k.blob), 'ssh-ed25519');
  });

  test('normalise padding and prefix case', () => {
    assert.equal(normalizeFingerprint('sha256:abc='), 'SHA256:abc');
    assert.equal(normalizeFingerprint(' abc '), 'SHA256:abc');
  });
});

describe('known_hosts parsing and matching', () => {
  test('skips comments, markers and malformed lines', () => {
    const k = newKey();
    const b64 = k.blob.toString('base64');
    const entries = parseKnownHosts(
      [
        '# comment',
        '',
        `host1 ssh-ed25519 ${b64} me@box`,
        'broken line',
        `@revoked * ssh-ed25519 ${b64}`,
        `@bogus h ssh-ed25519 ${b64}`,
      ].join('\n'),
    );
    assert.equal(entries.length, 2);
    assert.equal(entries[0]?.line, 3);
    assert.equal(entries[1]?.marker, '@revoked');
  });

  test('[host]:port, wildcards and negation', () => {
    assert.equal(hostLookupName('h', 22), 'h');
    assert.equal(hostLookupName('h', 2222), '[h]:2222');
    assert.ok(patternsMatch('[h]:2222', 'h', 2222));
    assert.ok(!patternsMatch('[h]:2222', 'h', 22));
    assert.ok(!patternsMatch('h', 'h', 2222), 'a bare name only covers port 22');
    assert.ok(patternsMatch('a,h,b', 'h', 22));
    assert.ok(patternsMatch('*.example.org', 'ftp.example.org', 22));
    assert.ok(!patternsMatch('*.example.org,!ftp.example.org', 'ftp.example.org', 22));
    assert.ok(patternsMatch('[10.0.0.?]:22*', '10.0.0.5', 2201));
    assert.ok(patternsMatch('HOST', 'host', 22), 'host names are case-insensitive');
  });

  test('hashed entries written by ssh-keygen -H', () => {
    const k = newKey();
    const f = join(t.dir, 'hashed_known_hosts');
    writeFileSync(f, `[127.0.0.1]:2222 ${k.line}\nexample.org ${k.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', f], { stdio: 'ignore' });
    const text = readFileSync(f, 'utf8');
    assert.ok(!text.includes('127.0.0.1') && text.includes('|1|'), 'the file is hashed');
    const entries = parseKnownHosts(text);
    assert.ok(entries.some((e) => patternsMatch(e.patterns, '127.0.0.1', 2222)));
    assert.ok(entries.some((e) => patternsMatch(e.patterns, 'example.org', 22)));
    assert.ok(!entries.some((e) => patternsMatch(e.patterns, '127.0.0.1', 22)));
    assert.ok(!entries.some((e) => patternsMatch(e.patterns, 'example.com', 22)));
    const v = verifyHostKey(k.blob, {
      host: '127.0.0.1',
      port: 2222,
      env: t.env,
      trust: { knownHosts: [f] },
    });
    assert.equal(v.source, `${f}:1`);
  });
});

describe('verifyHostKey', () => {
  test('unknown key refused with its fingerprint and how to trust it', () => {
    const k = newKey();
    const e = expectTrustError(
      () => verifyHostKey(k.blob, { host: '127.0.0.1', port: 2022, env: t.env }),
      /not trusted/,
    );
    assert.ok(e.message.includes(fingerprintOf(k.blob)));
    assert.ok(e.hint?.includes(`--trust-host-key ${fingerprintOf(k.blob)}`));
  });

  test('pinned fingerprint accepted (with or without padding), from the account or the flag', () => {
    const k = newKey();
    const fp = fingerprintOf(k.blob);
    assert.equal(
      verifyHostKey(k.blob, { host: 'h', port: 22, env: t.env, trust: { hostKeys: [`${fp}=`] } }).source,
      'pinned',
    );
    assert.equal(verifyHostKey(k.blob, { host: 'h', port: 22, env: t.env, pinned: [fp] }).source, 'pinned');
  });

  test('a key that differs from the pin is a changed identity (exit 6), and the new key is not offered (#14.9)', () => {
    const k = newKey();
    const pin = fingerprintOf(newKey().blob);
    for (const check of [{ pinned: [pin] }, { trust: { hostKeys: [pin] } }]) {
      const e = expectTrustError(
        () => verifyHostKey(k.blob, { host: 'h', port: 22, env: t.env, ...check }),
        /WARNING: HOST KEY OF h:22 HAS CHANGED: the account pins .* the server sent/,
        'trust-changed',
      );
      assert.equal(e.exitCode, 6);
      assert.ok(e.message.includes(pin) && e.message.includes(fingerprintOf(k.blob)));
      assert.ok(!e.hint?.includes(fingerprintOf(k.blob)), `the hint must not offer the new key: ${e.hint}`);
      assert.doesNotMatch(e.hint ?? '', /--trust-host-key/);
    }
  });

  test('~/.ssh/known_hosts under HOME from the env is consulted', () => {
    const k = newKey();
    writeFileSync(userKnownHosts, `[files.example]:2200 ${k.line}\n`);
    const v = verifyHostKey(k.blob, { host: 'files.example', port: 2200, env: t.env });
    assert.equal(v.source, `${userKnownHosts}:1`);
    expectTrustError(
      () => verifyHostKey(k.blob, { host: 'files.example', port: 2201, env: t.env }),
      /not trusted/,
    );
  });

  test('changed key refused loudly, naming file, line and both fingerprints', () => {
    const old = newKey();
    const now = newKey();
    writeFileSync(userKnownHosts, `# x\n[moved.example]:22 ${old.line}\nmoved.example ${old.line}\n`);
    const e = expectTrustError(
      () => verifyHostKey(now.blob, { host: 'moved.example', port: 22, env: t.env }),
      /HAS CHANGED/,
      'trust-changed',
    );
    assert.ok(e.message.includes(`${userKnownHosts}:3`));
    assert.ok(e.message.includes(fingerprintOf(old.blob)) && e.message.includes(fingerprintOf(now.blob)));
    assert.match(e.hint ?? '', /ssh-keygen -R/);
  });

  test('a known key of another type is "unknown", not "changed"', () => {
    const ec = newKey('ecdsa');
    const ed = newKey();
    writeFileSync(userKnownHosts, `other.example ${ec.line}\n`);
    const e = expectTrustError(
      () => verifyHostKey(ed.blob, { host: 'other.example', port: 22, env: t.env }),
      /not trusted/,
    );
    assert.match(e.message, /ecdsa-sha2-nistp256/);
  });

  test('@revoked key refused even when pinned', () => {
    const k = newKey();
    writeFileSync(userKnownHosts, `@revoked * ${k.line}\n`);
    expectTrustError(
      () => verifyHostKey(k.blob, { host: 'x', port: 22, env: t.env, pinned: [fingerprintOf(k.blob)] }),
      /revoked/,
      'trust-changed',
    );
    writeFileSync(userKnownHosts, '');
  });

  test("otpbackup's own known_hosts (the user's lines, OpenSSH format) is consulted", () => {
    const k = newKey();
    const file = knownHostsPath(t.env);
    mkdirSync(dirname(file), { recursive: true });
    const line = knownHostsLine('127.0.0.1', 2222, k.blob);
    assert.match(line, /^\[127\.0\.0\.1\]:2222 ssh-ed25519 [A-Za-z0-9+/=]+$/);
    writeFileSync(file, `${line}\n${knownHostsLine('plain.example', 22, k.blob)}\n`);
    assert.equal(verifyHostKey(k.blob, { host: '127.0.0.1', port: 2222, env: t.env }).source, `${file}:1`);
    assert.equal(verifyHostKey(k.blob, { host: 'plain.example', port: 22, env: t.env }).source, `${file}:2`);
  });
});
