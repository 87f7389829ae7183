// The one way every command builds an account's transport (through cli/connect.ts, and the account
// probe): a credential source (a fresh code at each login, under the login discipline), optionally
// watched or replaced, handed to the protocol's transport. The caller connects, so it can time or
// wrap the login.
import type { Account } from '../config/types.js';
import { createTransport, type TransportDeps } from './index.js';
import { type CredentialSource, type Credentials, createCredentialSource, type LoginWait } from './login.js';
import type { Transport } from './types.js';

export interface OpenOptions extends Omit<TransportDeps, 'credentials' | 'env' | 'getSecret'> {
  env: NodeJS.ProcessEnv;
  getSecret: (ref: string) => Promise<string>;
  /** For otp.type 'prompt' (what `run` asks a person; `upload` refuses). */
  promptCode?: (message: string) => Promise<string>;
  /** Sees each credential handed to a login attempt (read the step or counter, never keep the code). */
  onCredentials?: (c: Credentials) => void;
  /** Told before each login wait (fresh TOTP step, refused-login rate); see cli/wait-notice.ts. */
  onWait?: (w: LoginWait) => void;
  /** Builds the source from the standard one per account (upload's --hotp-counter-file). */
  source?: (make: (a: Account) => CredentialSource) => CredentialSource;
}

export async function accountTransport(given: Account, o: OpenOptions): Promise<Transport> {
  // sftp://alias: the user's ~/.ssh/config and agent decide host, port, user, key and jump host.
  const account =
    given.protocol === 'sftp' ? (await import('./sftp/ssh-config.js')).withSshSetup(given, o.env) : given;
  const make = (a: Account) =>
    createCredentialSource({
      account: a,
      env: o.env,
      clock: o.clock,
      getSecret: o.getSecret,
      ...(o.log ? { log: o.log } : {}),
      ...(o.promptCode ? { promptCode: o.promptCode } : {}),
      ...(o.onWait ? { onWait: o.onWait } : {}),
    });
  const inner = o.source ? o.source(make) : make(account);
  const watch = o.onCredentials;
  const log = o.log;
  // -vv: each login attempt and its outcome (the step or counter spent, never the code).
  const credentials: CredentialSource =
    watch || log
      ? {
          next: async (signal) => {
            const c = await inner.next(signal);
            watch?.(c);
            log?.(
              `login as ${c.user} to ${account.protocol}://${account.host}:${account.port}${c.step !== undefined ? ` with TOTP step ${c.step}` : c.counter !== undefined ? ` with HOTP counter ${c.counter}` : ''}`,
            );
            return c;
          },
          failed: (reason) => {
            log?.(`login refused: ${reason}`);
            return inner.failed(reason);
          },
          succeeded: () => {
            log?.('login accepted');
            return inner.succeeded();
          },
          unused: (c) => inner.unused?.(c) ?? Promise.resolve(),
        }
      : inner;
  const { onCredentials: _w, source: _s, promptCode: _p, onWait: _o, ...deps } = o;
  return createTransport(account, { ...deps, credentials });
}
