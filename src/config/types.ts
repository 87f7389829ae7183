// The normalised shape of the configuration, after YAML parsing and validation (config/load.ts).
// Secrets appear only as references (SecretRef), never as values.

/** `keychain:SERVICE/KEY`, `vault:NAME`, `env:VAR`, `file:PATH`, `cmd:COMMAND ARGS`. */
export type SecretRef = string;

export type Algorithm = 'sha1' | 'sha256' | 'sha512';

export interface OtpSettings {
  /** totp/hotp compute the code from `secret`; prompt asks the person; command runs `command`. */
  type: 'totp' | 'hotp' | 'prompt' | 'command';
  /** Reference to the Base32 seed or otpauth:// URI (totp, hotp). */
  secret?: SecretRef;
  algorithm: Algorithm;
  digits: number;
  /** Seconds per step (totp). */
  period: number;
  /** Unix seconds of step 0 (totp). */
  t0: number;
  /** Initial counter (hotp); the live counter is kept in state, not config. */
  counter?: number;
  /** Program printing a code on stdout (type command); run without a shell. */
  command?: string[];
  /** 'forbid' (default): never log in twice in one step. 'allow': the server accepts reuse. */
  reuse: 'forbid' | 'allow';
  /** Seconds before the end of a step within which we wait for the next one. */
  marginSeconds: number;
}

export interface PromptRule {
  /** Case-insensitive regular expression matched against the prompt text. */
  pattern: string;
  /** Login template answering it, e.g. "${TOTP}" or "${PASSWORD}". */
  answer: string;
}

/**
 * How the config names a protocol, and the URL scheme each comes from (config/url.ts):
 *   'ftp'            ftp://    plain FTP (password and code unencrypted)
 *   'ftps'           ftpes://  explicit FTPS: connect to port 21, then AUTH TLS
 *   'ftps-implicit'  ftps://   implicit FTPS: TLS from the first byte, port 990
 *   'sftp'           sftp://   SFTP over SSH, port 22
 * The names differ from the schemes on purpose: config files say what happens on the wire, and
 * `ftps` there is the common explicit kind, while the URL scheme ftps:// means implicit (as in curl
 * and lftp). Only url.ts and the account prompts translate between the two.
 */
export type Protocol = 'ftp' | 'ftps' | 'ftps-implicit' | 'sftp';
export type SftpAuthMethod = 'password' | 'keyboard-interactive' | 'publickey';

export interface TrustSettings {
  /** SSH host key fingerprints "SHA256:base64" accepted for this account. */
  hostKeys?: string[];
  /** Extra known_hosts files to consult (besides ~/.ssh/known_hosts and otpbackup's own). */
  knownHosts?: string[];
  /** PEM CA file for FTPS. */
  ca?: string;
  /** Pinned certificate fingerprints "SHA256:AA:BB:..." for FTPS. */
  tlsFingerprints?: string[];
  /** Turn certificate verification off (warns). */
  insecureSkipVerify?: boolean;
}

export interface Account {
  name: string;
  protocol: Protocol;
  host: string;
  port: number;
  user: string;
  /** Remote base directory; job and upload paths are below it. */
  remoteDir: string;
  /** Login template for FTP PASS (and combined SFTP prompts). */
  template: string;
  password?: SecretRef;
  otp: OtpSettings;
  /** SFTP: methods offered, in order of preference; the server's partial-success list decides. */
  authMethods?: SftpAuthMethod[];
  /** SFTP: private key file (publickey), and an optional passphrase reference. */
  privateKey?: string;
  privateKeyPassphrase?: SecretRef;
  /** SFTP keyboard-interactive rules, tried before the defaults. */
  prompts?: PromptRule[];
  trust: TrustSettings;
  /** Idle I/O timeout in seconds once connected (default 30); without connectTimeout it also bounds
   *  the TCP connect and the greeting (reach.ts). */
  timeout?: number;
  /** Seconds for the TCP connect and, again, for the server's greeting (default 4 and 10). */
  connectTimeout?: number;
  /** Reconnects after a network fault, at login and per operation (default 1 at login, 3 per
   *  operation); 0 = one attempt. A refused login's one retry is the login discipline's, not this. */
  retries?: number;
  /** Bytes per second for this account's jobs (a job's own bwlimit wins; --bwlimit wins over both). */
  bwlimit?: number;
  /** SFTP, filled in from ~/.ssh/config at connect time (never from the YAML): the first ProxyJump hop. */
  jump?: { host: string; port: number; user: string; privateKey?: string };
  /** SFTP, at connect time: the ssh-agent socket (SSH_AUTH_SOCK) for the public-key step. */
  agent?: string;
}

/** Programs run around a job (argv, no shell); see src/hooks/hooks.ts. */
export interface Hooks {
  before?: string[];
  after?: string[];
  onFailure?: string[];
  /** Seconds before a hook's process group is killed; default 60. */
  timeout?: number;
}

/** Healthchecks-style pings; see src/hooks/notify.ts. `url` may be a secret reference. */
export interface Notify {
  url: string;
  start?: string;
  success?: string;
  failure?: string;
  /** Seconds per attempt; default 5. */
  timeout?: number;
}

export interface Job {
  name: string;
  account: string;
  sources: string[];
  include?: string[];
  exclude?: string[];
  /** Remote directory, relative to the account's remoteDir (or absolute). */
  remoteDir: string;
  schedule: string;
  timezone?: string;
  symlinks: 'skip' | 'follow';
  mode: 'mirror' | 'versions';
  delete: boolean;
  checksum: boolean;
  retention?: { keep?: number; days?: number };
  /** Override the global hooks / notify, key by key. */
  hooks?: Hooks;
  notify?: Notify;

  /** Bytes per second for this job's transfers; 0 = no limit (over the account's). */
  bwlimit?: number;

  /** Upload a local copy made while the file was at rest (files rewritten in place all the time). */
  copyFirst?: boolean;
}

export interface Config {
  /** Where it was loaded from (for error messages and saving). */
  path: string;
  accounts: Record<string, Account>;
  jobs: Record<string, Job>;
  vault?: { path?: string; passphraseCommand?: string[] };
  /** For every job that has no hook of the same kind. */
  hooks?: Hooks;
  notify?: Notify;
}
