// The flags that describe a server target given as a URL — its secrets' variable names, OTP
// parameters and trust — defined once for every command that takes one (`upload --to`, `download`,
// `ls`), so their names, help and parsing cannot drift apart.
import type { Command } from 'commander';
import type { TrustSettings } from '../config/types.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** [flags, help, repeatable?] — the order is the order in --help. */
export const TARGET_OPTIONS: readonly [string, string, boolean?][] = [
  ['--password-env <VAR>', 'environment variable holding the password (default OTPBACKUP_PASSWORD)'],
  ['--totp-secret-env <VAR>', 'environment variable holding the Base32 seed (default OTPBACKUP_TOTP_SECRET)'],
  [
    '--otpauth-uri-env <VAR>',
    'environment variable holding an otpauth:// URI (default OTPBACKUP_OTPAUTH_URI)',
  ],
  ['--algorithm <alg>', 'sha1, sha256 or sha512'],
  ['--digits <n>', 'code length: 6, 7 or 8'],
  ['--period <seconds>', 'TOTP step'],
  ['--hotp-counter-file <file>', 'HOTP: file holding the next counter (advanced before each login)'],
  ['--template <template>', 'login template (default ${PASSWORD}${TOTP}, or ${TOTP} without a password)'],
  ['--allow-no-code', 'sftp: accept a --template without ${TOTP}, ${HOTP} or ${OTP}'],
  ['--prompt <rule>', "sftp: keyboard-interactive rule 'REGEX=TEMPLATE' (repeatable)", true],
  ['--key <file>', 'sftp: private key for publickey, then the code'],
  ['--host-key <fingerprint>', 'sftp: accept this host key (SHA256:...; repeatable)', true],
  ['--known-hosts <file>', 'sftp: known_hosts file to consult (repeatable)', true],
  ['--ca <file>', 'ftps: PEM file of the CA to trust'],
  ['--tls-fingerprint <fp>', 'ftps: accept this certificate (SHA256:AA:BB:...; repeatable)', true],
  ['--otp-reuse <allow>', 'allow: the server accepts a code twice (no wait for a fresh step)'],
  [
    '--connections <n>',
    'ftp: control connections (1-16; default 4 with --otp-reuse allow, else 1: each extra login then waits for a fresh step)',
  ],
];

export function addTargetOptions(cmd: Command): Command {
  for (const [flags, help, many] of TARGET_OPTIONS) {
    if (many) cmd.option(flags, help, collect);
    else cmd.option(flags, help);
  }
  return cmd;
}

/** Trust given on the command line adds to an account's own (pins and CA files, never replaces). */
export function withCliTrust(
  trust: TrustSettings,
  o: { hostKey?: string[]; knownHosts?: string[]; ca?: string; tlsFingerprint?: string[] },
): TrustSettings {
  const t = { ...trust };
  if (o.hostKey?.length) t.hostKeys = [...(t.hostKeys ?? []), ...o.hostKey];
  if (o.knownHosts?.length) t.knownHosts = [...(t.knownHosts ?? []), ...o.knownHosts];
  if (o.ca) t.ca = o.ca;
  if (o.tlsFingerprint?.length) t.tlsFingerprints = [...(t.tlsFingerprints ?? []), ...o.tlsFingerprint];
  return t;
}
