// Picks the transport for an account's protocol. SFTP is imported lazily so FTP-only runs never load ssh2.
import type { Account } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import type { Clock } from '../schedule/clock.js';
import { FtpPool, ftpConnections } from './ftp/pool.js';
import { FtpTransport } from './ftp/transport.js';
import type { CredentialSource } from './login.js';
import type { Transport } from './types.js';

export type { CredentialSource, Credentials } from './login.js';
export { createCredentialSource, loginWithDiscipline } from './login.js';
export type { PutOptions, RemoteEntry, Transport } from './types.js';

export interface TransportDeps {
  credentials: CredentialSource;
  clock: Clock;
  log?: (line: string) => void;
  /** SFTP: HOME and XDG paths for known_hosts. */
  env?: NodeJS.ProcessEnv;
  /** SFTP: resolves the private key passphrase reference. */
  getSecret?: (ref: string) => Promise<string>;
  /** SFTP: extra pinned host key fingerprints (--trust-host-key). */
  trustHostKeys?: string[];
  /** Log every protocol command (secrets masked). */
  trace?: boolean;
}

export async function createTransport(account: Account, deps: TransportDeps): Promise<Transport> {
  switch (account.protocol) {
    case 'ftp':
    case 'ftps':
    case 'ftps-implicit': {
      const opts = {
        account,
        credentials: deps.credentials,
        clock: deps.clock,
        log: deps.log,
        trace: deps.trace,
      };
      const n = ftpConnections(account);
      return n > 1 ? new FtpPool(opts, n) : new FtpTransport(opts);
    }
    case 'sftp': {
      const { SftpTransport } = await import('./sftp/transport.js');
      const opts: ConstructorParameters<typeof SftpTransport>[0] = {
        account,
        credentials: deps.credentials,
        clock: deps.clock,
        env: deps.env ?? process.env,
      };
      if (deps.log) opts.log = deps.log;
      if (deps.getSecret) opts.getSecret = deps.getSecret;
      if (deps.trustHostKeys) opts.trustHostKeys = deps.trustHostKeys;
      if (deps.trace) opts.trace = true;
      return new SftpTransport(opts);
    }
    default:
      throw new OtpBackupError(
        'config',
        `accounts.${account.name}.protocol "${String(account.protocol)}" is unknown`,
        {
          hint: 'use ftp, ftps, ftps-implicit or sftp',
        },
      );
  }
}
