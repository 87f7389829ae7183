// The normalised shape of the configuration, after YAML parsing and validation (config/load.ts),
// inferred from the field tables in schema.ts so that a field is described once.
// Secrets appear only as references (SecretRef), never as values.
import type { Infer } from './field.js';
import type {
  ACCOUNT_FIELDS,
  HOOK_FIELDS,
  JOB_FIELDS,
  NOTIFY_FIELDS,
  OTP_FIELDS,
  PROMPT_FIELDS,
  TRUST_FIELDS,
  VAULT_FIELDS,
} from './tables.js';

export type { SecretRef } from '../secrets/ref.js';

export type Algorithm = 'sha1' | 'sha256' | 'sha512';

/** totp/hotp compute the code from `secret`; prompt asks; command runs `command`. See OTP_FIELDS. */
export type OtpSettings = Infer<typeof OTP_FIELDS>;

/** One SFTP keyboard-interactive rule: a case-insensitive regex and the login template answering it. */
export type PromptRule = Infer<typeof PROMPT_FIELDS>;

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

/** SSH host keys, known_hosts files, FTPS CA and pins. See TRUST_FIELDS. */
export type TrustSettings = Infer<typeof TRUST_FIELDS>;

/** A server account; the fields are described in ACCOUNT_FIELDS (config/schema.ts). */
export type Account = { name: string } & Infer<typeof ACCOUNT_FIELDS> & {
    /** SFTP, filled in from ~/.ssh/config at connect time (never from the YAML): the first ProxyJump hop. */
    jump?: { host: string; port: number; user: string; privateKey?: string };
    /** SFTP, at connect time: the ssh-agent socket (SSH_AUTH_SOCK) for the public-key step. */
    agent?: string;
  };

/** Programs run around a job (argv, no shell); see HOOK_FIELDS and src/hooks/hooks.ts. */
export type Hooks = Infer<typeof HOOK_FIELDS>;

/** Healthchecks-style pings; see NOTIFY_FIELDS and src/hooks/notify.ts. `url` may be a secret reference. */
export type Notify = Infer<typeof NOTIFY_FIELDS>;

/** A backup job; the fields are described in JOB_FIELDS (config/schema.ts). */
export type Job = { name: string } & Infer<typeof JOB_FIELDS>;

export interface Config {
  /** Where it was loaded from (for error messages and saving). */
  path: string;
  accounts: Record<string, Account>;
  jobs: Record<string, Job>;
  vault?: Infer<typeof VAULT_FIELDS>;
  /** For every job that has no hook of the same kind. */
  hooks?: Hooks;
  notify?: Notify;
}
