// XDG paths. Every function takes the environment so tests can point HOME anywhere.
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = NodeJS.ProcessEnv;

function home(env: Env): string {
  return env.HOME || homedir();
}

export function configDir(env: Env): string {
  return join(env.XDG_CONFIG_HOME || join(home(env), '.config'), 'otpbackup');
}

export function configPath(env: Env, override?: string): string {
  return override || env.OTPBACKUP_CONFIG || join(configDir(env), 'config.yaml');
}

export function stateDir(env: Env): string {
  return join(env.XDG_STATE_HOME || join(home(env), '.local', 'state'), 'otpbackup');
}

/** Per-account login state: last spent TOTP step, HOTP counter, recent failures. */
export function accountStatePath(env: Env, account: string): string {
  return join(stateDir(env), 'accounts', `${encodeURIComponent(account)}.json`);
}

export function jobStateDir(env: Env, job: string): string {
  return join(stateDir(env), 'jobs', encodeURIComponent(job));
}

/**
 * otpbackup's own known_hosts, consulted after trust.knownHosts and before ~/.ssh/known_hosts. The user
 * writes it (OpenSSH format); otpbackup never does: a key trusted at `account add` is pinned in the
 * account's trust.hostKeys, where `account show` lists it and `account edit` replaces it.
 */
export function knownHostsPath(env: Env): string {
  return join(configDir(env), 'known_hosts');
}
