// Server identity, proved through the CLI as a CI pipeline runs it (`otpbackup upload`):
//   SSH: an unknown host key is refused (exit 1, fingerprint + how to trust it); a changed one is
//        refused with a distinct error and exit code 6; a server offering only legacy algorithms
//        (ssh-rsa/SHA-1 host key, diffie-hellman-group1-sha1, hmac-sha1, CBC) gets no connection.
//   FTPS: expired, self-signed and wrong-host certificates (made here with openssl) are refused
//        unless pinned (--tls-fingerprint) or, for a good certificate, its CA is given (--ca).
// A refused identity must never get a password or code: the servers count every login attempt.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tls from 'node:tls';
import { promisify } from 'node:util';
import { FTPContext } from 'basic-ftp';
import ssh2 from 'ssh2';
import { OtpBackupError } from '../../src/errors.js';
import { guardPinnedDataSockets } from '../../src/transport/ftp/data-trust.js';
import { certFingerprint, normalizeFingerprint } from '../../src/transport/ftp/tls.js';
import { SSH_ALGORITHMS, WEAK_SSH_ALGORITHMS } from '../../src/transport/sftp/ssh-algorithms.js';
import { type CliRun, cli, readTree, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type InprocessFtpHandle, startInprocessFtp } from '../servers/ftp-inprocess.js';
import { generateEd25519, type SshServerHandle, startSshServer } from '../servers/ssh-inprocess.js';
import { requireTool } from '../support/require.js';

const run = promisify(execFile);
const missing = requireTool('sftp-server');

let box: Sandbox;
let src: string;
before(() => {
  box = sandbox('otpbackup-trust-');
  src = join(box.dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
});
after(() => box.cleanup());

/** The first line of stderr (the error) and the hint line, as a user sees them. */
function errorLines(r: CliRun): { message: string; hint: string } {
  const lines = r.stderr.split('\n').filter((l) => l.trim());
  const message = lines.find((l) => l.startsWith('otpbackup: ')) ?? '';
  const hint = lines.find((l) => l.trim().startsWith('hint: ')) ?? '';
  return { message, hint };
}

describe('SSH host keys', { skip: missing }, () => {
  let srv: SshServerHandle;
  let root: string;
  let seq = 0;
  before(async () => {
    root = join(box.dir, 'sftp-root');
    mkdirSync(root);
    srv = await startSshServer({ style: 'pam', root, period: 30 });
  });
  after(() => srv?.stop());

  /** upload to the in-process server with a fresh HOME (so known_hosts is the test's alone). */
  async function upload(extra: string[], knownHosts?: string): Promise<CliRun> {
    const home = join(box.dir, `home-${++seq}`);
    mkdirSync(join(home, '.ssh'), { recursive: true });
    if (knownHosts) writeFileSync(join(home, '.ssh', 'known_hosts'), knownHosts);
    const url = `sftp://${srv.user}@127.0.0.1:${srv.port}${join(root, `up${seq}`)}`;
    return cli(['upload', src, '--to', url, '--otp-reuse', 'allow', ...extra], {
      ...box.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      XDG_STATE_HOME: join(home, 'state'),
      OTPBACKUP_TOTP_SECRET: srv.secret,
      CI: 'true',
    });
  }

  test('unknown host key: exit 1, one line with the fingerprint, a hint naming --host-key/--trust-host-key', async () => {
    const before = srv.codes.length;
    const r = await upload([]);
    assert.equal(r.status, 1, r.stderr);
    const { message, hint } = errorLines(r);
    assert.match(message, /host key of 127\.0\.0\.1:\d+ is not trusted/);
    assert.ok(message.includes(srv.hostKeyFingerprint), message);
    assert.ok(hint.includes(`--trust-host-key ${srv.hostKeyFingerprint}`), hint);
    assert.ok(hint.includes(`upload: --host-key ${srv.hostKeyFingerprint}`), hint);
    assert.equal(srv.codes.length, before, 'no code was sent to an untrusted server');
  });

  test('changed host key: a different error (WARNING ... HAS CHANGED), exit 6, never offered for trust', async () => {
    const other = ssh2.utils.parseKey(generateEd25519().public);
    if (other instanceof Error || Array.isArray(other)) throw new Error('cannot parse the generated key');
    const before = srv.codes.length;
    const line = `[127.0.0.1]:${srv.port} ssh-ed25519 ${other.getPublicSSH().toString('base64')}\n`;
    const r = await upload([], line);
    assert.equal(r.status, 6, r.stderr);
    const { message, hint } = errorLines(r);
    assert.match(message, /HOST KEY OF 127\.0\.0\.1:\d+ HAS CHANGED/);
    assert.ok(message.includes(srv.hostKeyFingerprint), 'names the key the server sent');
    assert.doesNotMatch(message, /is not trusted/, 'distinct from the unknown-key message');
    assert.match(hint, /ssh-keygen -R/);
    assert.equal(srv.codes.length, before, 'no code was sent');
  });

  test('a key that differs from the pin (--host-key): exit 6, the warning, no hint to accept the new key (#14.9)', async () => {
    const other = ssh2.utils.parseKey(generateEd25519().public);
    if (other instanceof Error || Array.isArray(other)) throw new Error('cannot parse the generated key');
    const { fingerprintOf } = await import('../../src/transport/sftp/hostkeys.js');
    const pin = fingerprintOf(other.getPublicSSH());
    const before = srv.codes.length;
    const r = await upload(['--host-key', pin]);
    assert.equal(r.status, 6, r.stderr);
    const { message, hint } = errorLines(r);
    assert.match(message, /WARNING: HOST KEY OF 127\.0\.0\.1:\d+ HAS CHANGED/);
    assert.ok(message.includes(pin) && message.includes(srv.hostKeyFingerprint), message);
    assert.doesNotMatch(message, /is not trusted/);
    assert.ok(!hint.includes(srv.hostKeyFingerprint), `no hint to trust the presented key: ${hint}`);
    assert.doesNotMatch(hint, /--trust-host-key|--host-key SHA256/);
    assert.equal(srv.codes.length, before, 'no code was sent');
  });

  test('--host-key garbage is refused before connecting (exit 2)', async () => {
    const net = await import('node:net');
    let connections = 0;
    const listener = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    const port = (listener.address() as import('node:net').AddressInfo).port;
    try {
      for (const bad of ['garbage', 'SHA256:short', 'MD5:aa:bb']) {
        const r = await cli(
          ['upload', src, '--to', `sftp://u@127.0.0.1:${port}/x`, '--host-key', bad, '--otp-reuse', 'allow'],
          { ...box.env, OTPBACKUP_TOTP_SECRET: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', CI: 'true' },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(errorLines(r).message, /--host-key: expected an SSH fingerprint "SHA256:" \+ 43 base64/);
      }
      assert.equal(connections, 0, 'nothing connected');
    } finally {
      await new Promise<void>((r) => listener.close(() => r()));
    }
  });

  test('control: the same server with its key pinned uploads (so the refusals above are about trust)', async () => {
    const r = await upload(['--host-key', srv.hostKeyFingerprint]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      readTree(join(root, `up${seq}`))
        .get('a.txt')
        ?.toString(),
      'alpha\n',
    );
  });
});

describe('SSH algorithm downgrade', { skip: missing }, () => {
  test('the client offers none of the legacy algorithms', () => {
    const lists = SSH_ALGORITHMS as Record<string, unknown>;
    for (const kind of ['kex', 'serverHostKey', 'hmac'] as const) {
      const offered = lists[kind];
      assert.ok(Array.isArray(offered), `${kind} is an explicit allow-list`);
      for (const weak of WEAK_SSH_ALGORITHMS[kind]) assert.ok(!offered.includes(weak), `${kind}: ${weak}`);
    }
    const cipher = lists.cipher as { remove: string[] };
    assert.deepEqual([...cipher.remove].sort(), [...WEAK_SSH_ALGORITHMS.cipher].sort());
  });

  // A bare ssh2 server limited to the given algorithms; it counts login attempts and accepts any (it
  // offers no SFTP, so a client that gets that far fails right after).
  async function legacyServer(hostKey: string, algorithms: ssh2.Algorithms) {
    const state = { authAttempts: 0 };
    const server = new ssh2.Server({ hostKeys: [hostKey], algorithms }, (client) => {
      client.on('error', () => {});
      client.on('authentication', (ctx) => {
        state.authAttempts++;
        ctx.accept();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const parsed = ssh2.utils.parseKey(hostKey);
    if (parsed instanceof Error || Array.isArray(parsed)) throw new Error('host key');
    const { fingerprintOf } = await import('../../src/transport/sftp/hostkeys.js');
    return {
      port,
      state,
      fingerprint: fingerprintOf(parsed.getPublicSSH()),
      stop: () => new Promise<void>((r) => server.close(() => r())),
    };
  }

  let rsaKey: string;
  let edKey: string;
  before(() => {
    rsaKey = ssh2.utils.generateKeyPairSync('rsa', { bits: 2048 }).private;
    edKey = generateEd25519().private;
  });

  async function attempt(hostKey: () => string, algorithms: ssh2.Algorithms) {
    const s = await legacyServer(hostKey(), algorithms);
    try {
      const r = await cli(
        [
          'upload',
          src,
          '--to',
          `sftp://someone@127.0.0.1:${s.port}/x`,
          '--host-key',
          s.fingerprint,
          '--otp-reuse',
          'allow',
        ],
        { ...box.env, OTPBACKUP_TOTP_SECRET: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', CI: 'true' },
      );
      return { r, authAttempts: s.state.authAttempts };
    } finally {
      await s.stop();
    }
  }

  const cases: Array<[string, () => string, ssh2.Algorithms, RegExp]> = [
    ['ssh-rsa (SHA-1) host key only', () => rsaKey, { serverHostKey: ['ssh-rsa'] }, /host key format/],
    ['diffie-hellman-group1-sha1 only', () => edKey, { kex: ['diffie-hellman-group1-sha1'] }, /key exchange/],
    [
      'diffie-hellman-group14-sha1 only',
      () => edKey,
      { kex: ['diffie-hellman-group14-sha1'] },
      /key exchange/,
    ],
    ['hmac-sha1 only', () => edKey, { cipher: ['aes128-ctr'], hmac: ['hmac-sha1'] }, /mac/],
    ['aes128-cbc only', () => edKey, { cipher: ['aes128-cbc'] }, /cipher/],
  ];
  for (const [name, key, algorithms, what] of cases) {
    test(`a server offering ${name} is refused before any login`, async () => {
      const { r, authAttempts } = await attempt(key, algorithms);
      assert.equal(r.status, 1, r.stderr);
      const { message, hint } = errorLines(r);
      assert.match(message, /offers no .* algorithm otpbackup accepts/);
      assert.match(message, what);
      assert.match(hint, /downgraded connection/);
      assert.equal(authAttempts, 0, 'no credentials were offered');
    });
  }

  test('control: the same RSA key with rsa-sha2 signatures gets through the handshake to the login', async () => {
    const { r, authAttempts } = await attempt(() => rsaKey, {});
    assert.ok(authAttempts > 0, `the handshake succeeded: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /algorithm/, r.stderr);
  });
});

// ---------------------------------------------------------------------------------------------------
// FTPS certificates

interface Certs {
  ca: string;
  valid: { key: string; cert: string };
  selfSigned: { key: string; cert: string };
  wrongHost: { key: string; cert: string };
  expired: { key: string; cert: string };
}

/** A test CA and four server certificates, EC keys (milliseconds to make). */
async function makeCerts(dir: string): Promise<Certs> {
  mkdirSync(dir, { recursive: true });
  const p = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ext = (san: string) => {
    const f = p(`ext-${san.replace(/\W/g, '_')}`);
    writeFileSync(
      f,
      `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
    );
    return f;
  };
  await run('openssl', [
    ...['req', '-x509', '-days', '3', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt')],
    ...['-subj', '/CN=otpbackup trust test CA'],
  ]);
  const csr = async (name: string) =>
    run('openssl', [
      ...['req', '-new', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`)],
      ...['-subj', '/CN=127.0.0.1'],
    ]);
  await Promise.all(['valid', 'wrong', 'expired'].map(csr));
  const sign = (name: string, san: string, serial: number) =>
    run('openssl', [
      ...['x509', '-req', '-days', '3', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key')],
      ...['-set_serial', String(serial), '-extfile', ext(san), '-out', p(`${name}.crt`)],
    ]);
  await sign('valid', 'IP:127.0.0.1', 1);
  await sign('wrong', 'DNS:elsewhere.example,IP:127.0.0.2', 2);
  // Expired: OpenSSL 3.0 has no -not_after for x509, so `openssl ca` with explicit past dates.
  writeFileSync(p('index.txt'), '');
  writeFileSync(p('serial'), '03\n');
  writeFileSync(
    p('ca.cnf'),
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${p('index.txt')}`,
      `new_certs_dir = ${dir}`,
      `serial = ${p('serial')}`,
      'default_md = sha256',
      'policy = pol',
      'unique_subject = no',
      '[pol]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await run('openssl', [
    ...['ca', '-batch', '-notext', '-config', p('ca.cnf'), '-cert', p('ca.crt'), '-keyfile', p('ca.key')],
    ...['-startdate', '20200101000000Z', '-enddate', '20200201000000Z'],
    ...['-extfile', ext('IP:127.0.0.1'), '-in', p('expired.csr'), '-out', p('expired.crt')],
  ]);
  await run('openssl', [
    ...['req', '-x509', '-days', '3', ...ec, '-keyout', p('self.key'), '-out', p('self.crt')],
    ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
  ]);
  const pair = (key: string, cert: string) => ({
    key: readFileSync(p(key), 'utf8'),
    cert: readFileSync(p(cert), 'utf8'),
  });
  return {
    ca: p('ca.crt'),
    valid: pair('valid.key', 'valid.crt'),
    selfSigned: pair('self.key', 'self.crt'),
    wrongHost: pair('wrong.key', 'wrong.crt'),
    expired: pair('expired.key', 'expired.crt'),
  };
}

const fingerprint = (pem: string) => `SHA256:${new X509Certificate(pem).fingerprint256}`;

describe('FTPS certificates', () => {
  let certs: Certs;
  const servers: InprocessFtpHandle[] = [];
  before(async () => {
    certs = await makeCerts(join(box.dir, 'pki'));
    assert.ok(new X509Certificate(certs.expired.cert).validTo.includes('2020'), 'the certificate expired');
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function serve(tls: { key: string; cert: string }): Promise<InprocessFtpHandle> {
    // A user per server: the client's login state (last spent step) is kept per account.
    const s = await startInprocessFtp({ tls, period: 30, user: `tls${servers.length}` });
    servers.push(s);
    return s;
  }

  async function upload(s: InprocessFtpHandle, dir: string, extra: string[]): Promise<CliRun> {
    const url = `ftpes://${s.user}@127.0.0.1:${s.port}/${dir}`;
    return cli(['upload', src, '--to', url, '--otp-reuse', 'allow', ...extra], {
      ...box.env,
      OTPBACKUP_PASSWORD: s.password,
      OTPBACKUP_TOTP_SECRET: s.secret,
      CI: 'true',
    });
  }

  function assertRefused(r: CliRun, s: InprocessFtpHandle, fp: string, reason: RegExp) {
    assert.equal(r.status, 1, r.stderr);
    const { message, hint } = errorLines(r);
    assert.match(message, /certificate of 127\.0\.0\.1:\d+ is not trusted/);
    assert.match(message, reason);
    assert.ok(message.includes(fp), `names the fingerprint: ${message}`);
    assert.ok(hint.includes(`--tls-fingerprint ${fp}`), hint);
    assert.match(hint, /--ca FILE/);
    assert.equal(s.successfulLogins() + s.failedLogins(), 0, 'no password was sent');
  }

  test('a certificate from a CA given with --ca is accepted; without --ca it is refused', async () => {
    const s = await serve(certs.valid);
    assertRefused(await upload(s, 'noca', []), s, fingerprint(certs.valid.cert), /ISSUER|LOCAL|LEAF/i);
    const ok = await upload(s, 'withca', ['--ca', certs.ca]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(readTree(join(s.root, 'withca')).get('a.txt')?.toString(), 'alpha\n');
  });

  const bad: Array<[string, keyof Omit<Certs, 'ca' | 'valid'>, RegExp]> = [
    ['self-signed', 'selfSigned', /SELF_SIGNED|self.signed/i],
    ['wrong-host', 'wrongHost', /ALTNAME|IP: 127\.0\.0\.1 is not in the cert/i],
    ['expired', 'expired', /EXPIRED/i],
  ];
  for (const [name, which, reason] of bad) {
    test(`${name}: refused (also with --ca), accepted when pinned with --tls-fingerprint`, async () => {
      const pem = certs[which];
      const s = await serve(pem);
      const fp = fingerprint(pem.cert);
      assertRefused(await upload(s, 'a', ['--ca', certs.ca]), s, fp, reason);
      const wrongPin = await upload(s, 'b', ['--tls-fingerprint', `SHA256:${'AB:'.repeat(31)}AB`]);
      assert.equal(
        wrongPin.status,
        6,
        `a different pinned certificate is a changed identity: ${wrongPin.stderr}`,
      );
      assert.ok(wrongPin.stderr.includes(fp), wrongPin.stderr);
      assert.equal(s.successfulLogins() + s.failedLogins(), 0, 'no password was sent');
      const ok = await upload(s, 'c', ['--tls-fingerprint', fp]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(readTree(join(s.root, 'c')).get('a.txt')?.toString(), 'alpha\n');
    });
  }
});

describe('FTPS data connections with a pinned certificate', () => {
  let certs: Certs;
  before(async () => {
    certs = await makeCerts(join(box.dir, 'pki-data'));
  });

  /** A TLS endpoint (a data port) presenting `pem`; records whether any byte arrived. */
  async function dataPort(pem: { key: string; cert: string }) {
    const got = { bytes: 0 };
    const server = tls.createServer({ key: pem.key, cert: pem.cert }, (s) => {
      s.on('data', (d: Buffer) => {
        got.bytes += d.length;
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    return { port: typeof addr === 'object' && addr ? addr.port : 0, got, close: () => server.close() };
  }

  async function connectGuarded(port: number, pinned: string) {
    const ctx = new FTPContext();
    const pins = new Set([normalizeFingerprint(pinned)]);
    guardPinnedDataSockets(ctx, '127.0.0.1:21', (s) => {
      const fp = certFingerprint(s.getPeerCertificate());
      return { fingerprint: fp, pinned: fp !== undefined && pins.has(normalizeFingerprint(fp)) };
    });
    // As basic-ftp does: connect, assign at once, write only after 'secureConnect'.
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    ctx.dataSocket = sock;
    const outcome = await new Promise<Error | 'open'>((resolve) => {
      sock.once('error', (e) => resolve(e));
      sock.once('secureConnect', () =>
        setImmediate(() => {
          if (sock.destroyed) return;
          sock.write('file contents');
          resolve('open');
        }),
      );
    });
    sock.destroy();
    ctx.close();
    return outcome;
  }

  test('a data connection presenting another certificate is destroyed before a byte is sent', async () => {
    const p = await dataPort(certs.selfSigned);
    try {
      const outcome = await connectGuarded(p.port, fingerprint(certs.expired.cert));
      assert.ok(outcome instanceof OtpBackupError, String(outcome));
      assert.equal(outcome.code, 'trust-changed');
      assert.ok(outcome.message.includes(fingerprint(certs.selfSigned.cert)), outcome.message);
      await sleep(100);
      assert.equal(p.got.bytes, 0, 'nothing was written to the impostor');
    } finally {
      p.close();
    }
  });

  test('the pinned certificate (self-signed) is accepted on the data connection', async () => {
    const p = await dataPort(certs.selfSigned);
    try {
      assert.equal(await connectGuarded(p.port, fingerprint(certs.selfSigned.cert)), 'open');
      await sleep(100);
      assert.ok(p.got.bytes > 0);
    } finally {
      p.close();
    }
  });
});
