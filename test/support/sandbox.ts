// A throwaway HOME: a temp dir holding HOME, the XDG dirs and a random vault passphrase, so nothing a
// test runs touches the real ones. Every CLI test starts from one of these.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sandbox {
  dir: string;
  /** PATH, HOME, XDG_*, OTPBACKUP_PASSPHRASE, NO_COLOR — nothing else from the test's environment. */
  env: NodeJS.ProcessEnv;
  /** Removes dir (idempotent). */
  cleanup(): void;
}

/** A temp dir holding HOME, the XDG dirs and a vault passphrase; nothing touches the real ones. */
export function sandbox(prefix: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    OTPBACKUP_PASSPHRASE: randomBytes(12).toString('base64url'),
    NO_COLOR: '1',
  };
  mkdirSync(env.HOME!, { recursive: true });
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The config file the CLI reads in this sandbox. */
export const configPath = (box: Sandbox): string =>
  join(box.env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
