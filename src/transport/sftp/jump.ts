// ProxyJump for SFTP: the bastion connection (public key only) and the channel through it that
// carries the real login.
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Account } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import { openSshSocket, reachTimeouts } from '../reach.js';
import type { SshError } from './errors.js';
import { verifyHostKey } from './hostkeys.js';
import { SSH_ALGORITHMS } from './ssh-algorithms.js';

// ssh2 is CommonJS: Node's ESM loader sees only its default export.
const { Client } = ssh2;

/**
 * ProxyJump: an SSH connection to the bastion (public key from the agent or its IdentityFile: a
 * bastion that wants a one-time code is not supported), then a direct-tcpip channel to the target,
 * which carries the real login. The bastion connection lives as long as that channel.
 */
export async function throughJump(
  account: Account,
  jump: NonNullable<Account['jump']>,
  o: { env: NodeJS.ProcessEnv; trustHostKeys?: string[] | undefined; signal?: AbortSignal | undefined },
): Promise<Socket> {
  const { signal } = o;
  const where = `${jump.host}:${jump.port} (ProxyJump)`;
  const sock = await openSshSocket(jump.host, jump.port, {
    ...reachTimeouts(account),
    account: account.name,
    ...(signal ? { signal } : {}),
  });
  let key: Buffer | undefined;
  if (jump.privateKey) {
    try {
      key = await readFile(jump.privateKey);
    } catch (e) {
      throw new OtpBackupError(
        'local',
        `ProxyJump ${jump.host}: cannot read ${jump.privateKey}: ${(e as Error).message}`,
      );
    }
  }
  if (!key && !account.agent)
    throw new OtpBackupError('config', `ProxyJump ${jump.host}: no key for the jump host`, {
      hint: 'give the jump host an IdentityFile in ~/.ssh/config, or load its key into ssh-agent (SSH_AUTH_SOCK)',
    });
  const bastion = new Client();
  return new Promise<Socket>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      bastion.on('error', () => {});
      bastion.end();
      reject(e);
    };
    bastion.on('error', (e: SshError) =>
      fail(
        e.level === 'client-authentication'
          ? new OtpBackupError('auth', `${where} refused the public key of user "${jump.user}"`, {
              hint: 'add the key to the jump host account, or check ProxyJump in ~/.ssh/config',
            })
          : new OtpBackupError('network', `${where}: ${e.message}`, { retryable: true }),
      ),
    );
    bastion.on('ready', () => {
      bastion.forwardOut('127.0.0.1', 0, account.host, account.port, (err, stream) => {
        if (err)
          return fail(
            new OtpBackupError(
              'network',
              `${where} would not open a channel to ${account.host}:${account.port}: ${err.message}`,
              {
                hint: 'the jump host must allow TCP forwarding (AllowTcpForwarding) to the target',
              },
            ),
          );
        settled = true;
        // The inner connection ending ends the bastion's too.
        stream.on('close', () => bastion.end());
        resolve(stream as unknown as Socket);
      });
    });
    bastion.connect({
      sock,
      username: jump.user,
      algorithms: SSH_ALGORITHMS,
      readyTimeout: reachTimeouts(account).greetingMs,
      hostVerifier: (keyBlob: Buffer) => {
        try {
          verifyHostKey(keyBlob, {
            host: jump.host,
            port: jump.port,
            env: o.env,
            trust: account.trust,
            pinned: o.trustHostKeys,
          });
          return true;
        } catch (e) {
          fail(e);
          return false;
        }
      },
      ...(key ? { privateKey: key } : {}),
      ...(account.agent ? { agent: account.agent } : {}),
    });
  });
}
