// Whose server is this: the SSH host key or TLS certificate fetched without logging in (so no
// one-time code is spent), and the trust decision before a new or changed account's first login:
// already known, pinned with --trust-host-key (must match), or confirmed by the person on a terminal.
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Account } from '../config/types.js';
import { OtpBackupError } from '../errors.js';

export interface ServerIdentity {
  kind: 'ssh-host-key' | 'tls-certificate';
  fingerprint: string;
  keyType?: string;
  keyBlob?: Buffer;
  /** TLS: the certificate chains to a trusted CA (system roots or trust.ca) for this host. */
  authorized?: boolean;
}

/** The server's host key or certificate, fetched without logging in (so no one-time code is spent). */
export async function fetchServerIdentity(account: Account): Promise<ServerIdentity | undefined> {
  const timeout = (account.timeout ?? 30) * 1000;
  if (account.protocol === 'sftp') {
    const [{ default: ssh2 }, { fingerprintOf, keyTypeOf }, { SSH_ALGORITHMS }, reach] = await Promise.all([
      import('ssh2'),
      import('../transport/sftp/hostkeys.js'),
      import('../transport/sftp/ssh-algorithms.js'),
      import('../transport/reach.js'),
    ]);
    // Refused, silent or not SSH at all (an FTP port): said at once, as at login.
    const sock = await reach.openSshSocket(account.host, account.port, {
      ...reach.reachTimeouts(account),
      account: account.name,
    });
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let seen: ServerIdentity | undefined;
      const done = () => {
        client.end();
        if (seen) resolve(seen);
        else
          reject(
            new OtpBackupError('network', `cannot reach ${account.host}:${account.port} over SSH`, {
              retryable: true,
              hint: 'check the host and port',
            }),
          );
      };
      client.on('error', done);
      client.on('close', done);
      client.connect({
        sock,
        host: account.host,
        port: account.port,
        username: account.user,
        // The same allow-lists as the real connection: never show a key it would not accept.
        algorithms: SSH_ALGORITHMS,
        readyTimeout: timeout,
        hostVerifier: (key: Buffer) => {
          seen = {
            kind: 'ssh-host-key',
            fingerprint: fingerprintOf(key),
            keyType: keyTypeOf(key),
            keyBlob: key,
          };
          return false; // stop before authentication
        },
      });
    });
  }
  if (account.protocol !== 'ftps' && account.protocol !== 'ftps-implicit') return undefined;
  const { Client } = await import('basic-ftp');
  const { controlSocket } = await import('../transport/ftp/basic-ftp-internals.js');
  const { readFileSync } = await import('node:fs');
  const { rootCertificates } = await import('node:tls');
  const client = new Client(timeout);
  const tls: import('node:tls').ConnectionOptions = { host: account.host, rejectUnauthorized: false };
  if (isIP(account.host) === 0) tls.servername = account.host;
  if (account.trust?.ca) tls.ca = [...rootCertificates, readFileSync(account.trust.ca, 'utf8')];
  try {
    if (account.protocol === 'ftps-implicit')
      await client.connectImplicitTLS(account.host, account.port, tls);
    else {
      await client.connect(account.host, account.port);
      await client.useTLS(tls);
    }
    const socket = controlSocket(client) as TLSSocket;
    const cert = socket.getPeerCertificate();
    return {
      kind: 'tls-certificate',
      fingerprint: `SHA256:${cert.fingerprint256}`,
      authorized: socket.authorized,
    };
  } catch (e) {
    const reply = (e as { code?: unknown }).code;
    if (account.protocol === 'ftps' && typeof reply === 'number' && reply >= 500 && reply < 600) {
      // A 5xx to AUTH TLS: the server has no TLS (the same words as at login, transport/ftp/transport.ts).
      throw new OtpBackupError(
        'remote',
        `${account.host}:${account.port} does not offer TLS: it answered AUTH TLS with "${(e as Error).message.replace(/\s+/g, ' ').trim().slice(0, 120)}"; nothing was sent`,
        {
          cause: e,
          hint: 'ask its administrator to enable FTPS; ftp:// would send the password and the code unencrypted',
        },
      );
    }
    throw new OtpBackupError(
      'network',
      `cannot fetch the TLS certificate of ${account.host}:${account.port}: ${(e as Error).message}`,
      { retryable: true, cause: e },
    );
  } finally {
    client.close();
  }
}

/**
 * Makes sure the server's host key / certificate is trusted before the first login of a new account:
 * already known, pinned with --trust-host-key (must match), or confirmed by the user on a terminal.
 * A newly trusted fingerprint is pinned in `account.trust`. Without a terminal an unknown identity is
 * refused naming the fingerprint and the flag to pass.
 */
export async function establishTrust(
  account: Account,
  opts: { env: NodeJS.ProcessEnv; pins: string[]; ask?: (question: string) => Promise<boolean> },
): Promise<ServerIdentity | undefined> {
  const id = await fetchServerIdentity(account);
  if (!id) return undefined;
  const [hk, ftp] = await Promise.all([
    import('../transport/sftp/hostkeys.js'),
    import('../transport/ftp/tls.js'),
  ]);
  // SSH fingerprints are case-sensitive Base64; TLS ones hex, written with or without colons.
  const normalizeFingerprint =
    id.kind === 'ssh-host-key' ? hk.normalizeFingerprint : ftp.normalizeFingerprint;
  const where = `${account.host}:${account.port}`;
  const what = id.kind === 'ssh-host-key' ? `host key (${id.keyType})` : 'TLS certificate';
  const pins = opts.pins.map(normalizeFingerprint);
  const pin = () => {
    if (id.kind === 'ssh-host-key') account.trust.hostKeys = [id.fingerprint];
    else account.trust.tlsFingerprints = [id.fingerprint];
  };
  if (pins.length) {
    if (!pins.includes(normalizeFingerprint(id.fingerprint)))
      throw new OtpBackupError(
        'trust',
        `${what} of ${where} is ${id.fingerprint}, which does not match --trust-host-key`,
        {
          hint: 'the server is not the one you expected, or the fingerprint was copied wrongly; ask its administrator',
        },
      );
    pin();
    return id;
  }
  if (id.kind === 'ssh-host-key') {
    try {
      hk.verifyHostKey(id.keyBlob!, {
        host: account.host,
        port: account.port,
        env: opts.env,
        trust: account.trust,
      });
      return id; // already in known_hosts
    } catch (e) {
      // A changed or revoked key is never offered for trust here.
      if (!(e instanceof OtpBackupError) || e.code !== 'trust') throw e;
    }
  } else if (id.authorized) return id;
  if (opts.ask && (await opts.ask(`Trust this ${what} of ${where}? (${id.fingerprint})`))) {
    pin();
    return id;
  }
  throw new OtpBackupError('trust', `${what} of ${where} is not trusted: ${id.fingerprint}`, {
    hint: `check it with the server's administrator, then run again with --trust-host-key ${id.fingerprint}`,
  });
}
