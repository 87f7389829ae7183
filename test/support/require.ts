// The one rule for parts a test needs from the machine (a tool, a real server, root): missing locally
// is a skip that says what is missing; missing under CI=true is a failure, because CI installs
// everything (.ci/install-deps.sh) and a silent skip there would hide a broken setup.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { proftpdUnavailable } from '../servers/proftpd.js';
import { sftpServerAvailable } from '../servers/ssh-inprocess.js';
import { sshdUnavailable } from '../servers/sshd.js';
import { systemUsersUnavailable } from '../servers/system.js';
import { vsftpdUnavailable } from '../servers/vsftpd.js';

export const inCi = (): boolean => process.env.CI === 'true';

/**
 * A skip reason for `what` when `missing` says why it cannot run, false when it can. Under CI=true a
 * missing part throws (at module load that fails the whole file, naming the part).
 */
export function required(what: string, missing: string | undefined | false): string | false {
  if (!missing) return false;
  if (inCi()) throw new Error(`CI=true but ${what} cannot run: ${missing}`);
  return `${what}: ${missing}`;
}

/** The servers and machine features with their own availability check; other names are programs on PATH. */
const CHECKS: Record<string, () => string | undefined> = {
  proftpd: proftpdUnavailable,
  sshd: sshdUnavailable,
  vsftpd: vsftpdUnavailable,
  'sftp-server': () => (sftpServerAvailable() ? undefined : 'OpenSSH sftp-server is not installed'),
  root: systemUsersUnavailable,
};

/** Why the program `name` is not on PATH (as an executable), or undefined. No process is spawned. */
export function missingProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return undefined;
    } catch {}
  }
  return 'not on PATH (see .ci/install-deps.sh)';
}

/**
 * requireTool('tmux'), requireTool('proftpd', 'oathtool'): false when all are there, else a skip
 * reason naming the first missing one — or, under CI=true, a throw. Use the result as `{ skip }`.
 */
export function requireTool(...names: string[]): string | false {
  for (const name of names) {
    const missing = CHECKS[name]?.() ?? (name in CHECKS ? undefined : missingProgram(name));
    const r = required(name, missing);
    if (r) return r;
  }
  return false;
}
