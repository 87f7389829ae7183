// Whether the jobs `otpbackup run` would start can get their secrets in the environment a scheduler
// gives: cron and systemd start it without a terminal and without the shell's exports (a vault
// passphrase exported in ~/.bashrc is not there). `schedule print|install` runs `schedule check` in
// such an environment (see schedulerEnv) before writing anything. Nothing logs in; secret values
// are resolved, registered for redaction and dropped; problems name references, never values.
import type { Config, SecretRef } from '../config/types.js';
import { isOtpBackupError } from '../errors.js';
import { secretServiceState } from '../secrets/keychain.js';
import { parseRef, resolveSecret } from '../secrets/resolve.js';

export interface SecretProblem {
  job: string;
  account: string;
  /** accounts.NAME.password, accounts.NAME.otp.secret, … */
  field: string;
  /** The store behind the reference (vault, keychain, env, file, cmd), or "otp" for otp.type prompt. */
  scheme: string;
  message: string;
}

export type Scheduler = 'cron' | 'systemd';

/** Every secret reference a run of `job`'s account resolves, with its config field. */
function accountRefs(config: Config, name: string): { field: string; ref: SecretRef }[] {
  const a = config.accounts[name];
  if (!a) return [];
  const out: { field: string; ref: SecretRef }[] = [];
  if (a.password) out.push({ field: `accounts.${name}.password`, ref: a.password });
  if ((a.otp.type === 'totp' || a.otp.type === 'hotp') && a.otp.secret)
    out.push({ field: `accounts.${name}.otp.secret`, ref: a.otp.secret });
  if (a.privateKeyPassphrase)
    out.push({ field: `accounts.${name}.privateKeyPassphrase`, ref: a.privateKeyPassphrase });
  return out;
}

/** Resolves every secret of every job's account in `env` (this process's environment, as started). */
export async function checkJobSecrets(config: Config, env: NodeJS.ProcessEnv): Promise<SecretProblem[]> {
  const problems: SecretProblem[] = [];
  // One set of stores, so the vault is unlocked (or found locked) once.
  const deps = { env, config, stores: {} };
  const seen = new Map<string, SecretProblem | null>();
  for (const job of Object.values(config.jobs)) {
    const a = config.accounts[job.account];
    if (!a) continue; // the config loader already refuses this
    if (a.otp.type === 'prompt') {
      problems.push({
        job: job.name,
        account: a.name,
        field: `accounts.${a.name}.otp.type`,
        scheme: 'otp',
        message: `accounts.${a.name}.otp.type is prompt: someone must type the code, and a scheduled run has no terminal`,
      });
      continue;
    }
    for (const { field, ref } of accountRefs(config, a.name)) {
      let p = seen.get(ref);
      if (p === undefined) {
        p = null;
        try {
          // Without a session bus the keychain library may try to start one; say so without trying.
          if (
            process.platform === 'linux' &&
            ref.startsWith('keychain:') &&
            (await secretServiceState(env)) === 'absent'
          ) {
            throw new Error(
              `${field}: secret ${ref} unreachable: no D-Bus session bus (no Secret Service) here`,
            );
          }
          await resolveSecret(ref, deps, field);
        } catch (e) {
          const scheme = (() => {
            try {
              return parseRef(ref).scheme;
            } catch {
              return 'unknown';
            }
          })();
          p = {
            job: job.name,
            account: a.name,
            field,
            scheme,
            message:
              isOtpBackupError(e) || /^accounts\./.test((e as Error).message)
                ? (e as Error).message
                : `${field}: ${(e as Error).name}`,
          };
        }
        seen.set(ref, p);
      }
      if (p) problems.push({ ...p, job: job.name, field });
    }
  }
  return problems;
}

/**
 * What to do about the problems under this scheduler: one hint line. `envFile` is the file the
 * systemd service reads (EnvironmentFile=).
 */
export function fixHint(problems: SecretProblem[], scheduler: Scheduler, envFile: string): string {
  const schemes = new Set(problems.map((p) => p.scheme));
  const fixes: string[] = [];
  if (schemes.has('vault'))
    fixes.push(
      'set vault.passphraseCommand in the config to a program that prints the passphrase (e.g. [cat, /home/you/.config/otpbackup/vault-pass] with the file chmod 600, or [pass, otpbackup/vault])',
    );
  if (schemes.has('keychain'))
    fixes.push(
      scheduler === 'cron'
        ? 'cron jobs cannot reach the desktop keychain: use `schedule install --systemd` (a user timer runs in your session while you are logged in, or always after `loginctl enable-linger`), or move the secrets to the vault'
        : 'unlock the login keyring for the user session (it is locked until you log in), or move the secrets to the vault',
    );
  if (schemes.has('vault') || schemes.has('env')) {
    fixes.push(
      scheduler === 'systemd'
        ? `put the variables in ${envFile} (KEY=value lines, chmod 600), which the service reads as its EnvironmentFile`
        : `or use --systemd and put the variables in ${envFile} (KEY=value lines, chmod 600), which the service reads as its EnvironmentFile`,
    );
  }
  if (schemes.has('otp')) fixes.push('use otp.type totp, hotp or command for scheduled runs');
  if (schemes.has('file') || schemes.has('cmd'))
    fixes.push(
      'file: and cmd: references must work with PATH=/usr/bin:/bin and no terminal; use absolute paths',
    );
  if (!fixes.length) fixes.push('run `otpbackup schedule check` to see why');
  return `${fixes.join('; ')}; or pass --force to install it anyway`;
}
