// The one way `run`, `upload` and `account test` build an account's transport: a credential source
// (a fresh code at each login, under the login discipline), optionally watched or replaced, handed
// to the protocol's transport. The caller connects, so it can time or wrap the login.
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
    given.protocol === 'sftp' ? (await import('./ssh-config.js')).withSshSetup(given, o.env) : given;
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
  const credentials: CredentialSource = watch
    ? {
        next: async (signal) => {
          const c = await inner.next(signal);
          watch(c);
          return c;
        },
        failed: (reason) => inner.failed(reason),
        succeeded: () => inner.succeeded(),
        unused: (c) => inner.unused?.(c) ?? Promise.resolve(),
      }
    : inner;
  const { onCredentials: _w, source: _s, promptCode: _p, onWait: _o, ...deps } = o;
  return createTransport(account, { ...deps, credentials });
}
