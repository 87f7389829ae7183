// FTPS trust: the TLS options of the control connection and the check of its certificate after
// the handshake (CA, pinned fingerprints, or verification off with a warning), before anything is
// sent. Data connections: data-trust.ts.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { type ConnectionOptions, type PeerCertificate, rootCertificates, type TLSSocket } from 'node:tls';
import type { Account } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';

/** "SHA256:AB:CD:..." as users write it, compared without case, prefix or colons. */
export function normalizeFingerprint(fp: string): string {
  return fp
    .trim()
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toUpperCase();
}

export function certFingerprint(cert: PeerCertificate | undefined): string | undefined {
  return cert?.fingerprint256 ? `SHA256:${cert.fingerprint256}` : undefined;
}

export function tlsOptionsFor(account: Account): ConnectionOptions {
  const t = account.trust ?? {};
  // Verification is done by verifyPeer() after the handshake and before anything is sent, so that a
  // refused certificate can be reported with its fingerprint (and a pinned self-signed one accepted).
  const o: ConnectionOptions = {
    host: account.host,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
  if (isIP(account.host) === 0) o.servername = account.host;
  if (t.ca) {
    let pem: string;
    try {
      pem = readFileSync(t.ca, 'utf8');
    } catch (e) {
      throw new OtpBackupError(
        'config',
        `accounts.${account.name}.trust.ca: cannot read ${t.ca} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        {
          hint: 'give the path of a PEM file holding the CA certificate',
        },
      );
    }
    o.ca = [...rootCertificates, pem];
  }
  return o;
}

/**
 * Throws OtpBackupError('trust') for an untrusted certificate, 'trust-changed' when it differs from the pinned one.
 * `warnOnce` reports verification turned off (once per transport).
 */
export function verifyPeer(
  account: Account,
  socket: TLSSocket,
  warnOnce: (key: string, line: string) => void,
): void {
  const where = `${account.host}:${account.port}`;
  const t = account.trust ?? {};
  const fp = certFingerprint(socket.getPeerCertificate()) ?? 'unknown';
  const pinHint = `if the fingerprint is right (ask the server's admin), pin it: accounts.${account.name}.trust.tlsFingerprints: ["${fp}"] (upload: --tls-fingerprint ${fp})`;
  if (t.insecureSkipVerify) {
    warnOnce(
      'insecure',
      `account ${account.name}: TLS certificate verification is OFF (trust.insecureSkipVerify); server certificate ${fp}`,
    );
    return;
  }
  if (t.tlsFingerprints?.length) {
    const want = new Set(t.tlsFingerprints.map(normalizeFingerprint));
    if (want.has(normalizeFingerprint(fp))) return;
    throw new OtpBackupError(
      'trust-changed',
      `certificate of ${where} has fingerprint ${fp}, which is not pinned for account ${account.name}`,
      {
        hint: `the server's certificate changed or someone is in between; ${pinHint}`,
      },
    );
  }
  if (!socket.authorized) {
    throw new OtpBackupError(
      'trust',
      `certificate of ${where} is not trusted (${String(socket.authorizationError)}); fingerprint ${fp}`,
      {
        hint: `${pinHint}, or set trust.ca to the CA's PEM file (upload: --ca FILE)`,
      },
    );
  }
}
