// The SSH algorithms otpbackup offers, as explicit allow-lists: a server (or someone in between)
// offering only legacy ones gets no connection, rather than a downgraded one. ssh2's defaults still
// include the SHA-1 "ssh-rsa" host-key signature and SHA-1 MACs, and it supports (when asked for)
// diffie-hellman-group1/group14-sha1, DSA host keys and CBC/arcfour ciphers.
import type { Algorithms } from 'ssh2';
import { OtpBackupError } from '../../errors.js';

/** Never offered; listed so tests can check the allow-lists below exclude them. */
export const WEAK_SSH_ALGORITHMS = {
  kex: ['diffie-hellman-group1-sha1', 'diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1'],
  serverHostKey: ['ssh-rsa', 'ssh-dss'],
  cipher: [
    '3des-cbc',
    'aes128-cbc',
    'aes192-cbc',
    'aes256-cbc',
    'blowfish-cbc',
    'cast128-cbc',
    'arcfour',
    'arcfour128',
    'arcfour256',
  ],
  hmac: ['hmac-sha1', 'hmac-sha1-etm@openssh.com', 'hmac-sha1-96', 'hmac-md5', 'hmac-md5-96'],
} as const;

export const SSH_ALGORITHMS: Algorithms = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group-exchange-sha256',
    'diffie-hellman-group14-sha256',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
  ],
  serverHostKey: [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ],
  // ssh2's default ciphers (AES-GCM, AES-CTR, ChaCha20-Poly1305) are all sound; removing the legacy
  // ones keeps the order ssh2 picks for the CPU (AES-NI or not) while making the refusal explicit.
  cipher: { append: [], prepend: [], remove: [...WEAK_SSH_ALGORITHMS.cipher] },
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
};

/** A clear error for a handshake that failed because the server offers only algorithms refused here. */
export function downgradeError(message: string, where: string): OtpBackupError | undefined {
  const m = /no matching (?:[CS]->[CS] )?(key exchange|host key format|cipher|mac|compression)/i.exec(
    message,
  );
  if (!m) return undefined;
  return new OtpBackupError(
    'remote',
    `${where} offers no ${m[1]!.toLowerCase()} algorithm otpbackup accepts (only legacy or weak ones, such as SHA-1 or CBC)`,
    {
      hint: "otpbackup refuses a downgraded connection; ask the server's administrator to enable modern algorithms (curve25519, ed25519 or rsa-sha2 host keys, hmac-sha2)",
    },
  );
}
