// Accounts made the way a user makes them (`otpbackup account add` on the built CLI) for the real
// ProFTPD's TOTP user, stored in the sandbox's vault, plus the jobs that use them.
import assert from 'node:assert/strict';
import { editConfig, saveJob } from '../../src/config/save.js';
import type { ProftpdHandle } from '../servers/proftpd.js';
import { cli } from './cli.js';
import type { Sandbox } from './sandbox.js';

export type Proto = 'ftp' | 'sftp';

export interface AccountOpts {
  /** Port to connect to (a proxy's, or the server's). */
  port?: number;
  /** Connection timeout in seconds (also the stall detection time). */
  timeout?: number;
  /** otp.reuse: allow lets back-to-back runs log in without waiting for a fresh step. */
  reuse?: boolean;
  /** Base32 seed to store instead of the server's (a wrong seed). */
  secret?: string;
}

/** Sets otp.reuse: allow (ProFTPD accepts a code twice; `account add` has no flag for it). */
export async function allowReuse(env: NodeJS.ProcessEnv, account: string): Promise<void> {
  await editConfig(env, undefined, (doc) => {
    doc.setIn(['accounts', account, 'otp', 'reuse'], 'allow');
  });
}

/**
 * Config edits of one process, one at a time. Tests of a file run side by side and often share a
 * sandbox; each edit takes the config lock, which waits at most 10 s of wall time: nine `account
 * add`s at once on a busy machine exceeded that (FAULT_SCALE=full). The runs still go side by side.
 */
let configChain: Promise<unknown> = Promise.resolve();
function oneConfigEditAtATime<T>(fn: () => Promise<T>): Promise<T> {
  const r = configChain.then(fn);
  configChain = r.catch(() => {});
  return r;
}

/** Adds account `name` for ProFTPD's TOTP user over FTP (code alone) or SFTP (keyboard-interactive). */
export function accountFixture(
  box: Sandbox,
  server: ProftpdHandle,
  name: string,
  proto: Proto,
  o: AccountOpts = {},
): Promise<void> {
  return oneConfigEditAtATime(() => addAccountNow(box, server, name, proto, o));
}

async function addAccountNow(
  box: Sandbox,
  server: ProftpdHandle,
  name: string,
  proto: Proto,
  o: AccountOpts,
): Promise<void> {
  const u = server.users.totp;
  const port = o.port ?? (proto === 'ftp' ? server.ports.ftp : server.ports.sftpKbd);
  const extra =
    proto === 'ftp'
      ? ['--template', '${OTP}']
      : ['--password-env', 'P', '--trust-host-key', server.sshHostKeyFingerprint];
  const add = await cli(
    [
      'account',
      'add',
      name,
      '--url',
      `${proto}://${u.name}@127.0.0.1:${port}/`,
      '--totp-secret-env',
      'S',
      '--store',
      'vault',
      '--no-test',
      ...extra,
    ],
    { ...box.env, S: o.secret ?? u.secret, P: u.password },
  );
  assert.equal(add.status, 0, add.stderr);
  if (o.reuse) await allowReuse(box.env, name);
  if (o.timeout !== undefined) {
    const t = o.timeout;
    await editConfig(box.env, undefined, (doc) => {
      doc.setIn(['accounts', name, 'timeout'], t);
    });
  }
}

/** A mirror job `name` of account `account` uploading `src` to `remoteDir` (below the user's home). */
export async function jobFixture(
  box: Sandbox,
  name: string,
  account: string,
  src: string,
  remoteDir: string,
): Promise<void> {
  await oneConfigEditAtATime(() =>
    saveJob(box.env, undefined, {
      name,
      account,
      sources: [src],
      remoteDir,
      schedule: '0 3 * * *',
      symlinks: 'skip',
      mode: 'mirror',
      delete: true,
      checksum: false,
    }),
  );
}
