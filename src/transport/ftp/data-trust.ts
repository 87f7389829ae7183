// FTPS data connections when the certificate is pinned. A pinned certificate may be self-signed or
// expired, so data connections cannot use CA verification (rejectUnauthorized) and basic-ftp would
// accept any certificate on them: whoever answers the data port could read the files. Each data
// connection must therefore resume the verified control session or present the pinned certificate
// before a byte is written; otherwise it is destroyed with a 'trust-changed' error.
import { TLSSocket } from 'node:tls';
import type { FTPContext } from 'basic-ftp';
import { OtpBackupError } from '../../errors.js';
import { dataSocketAccessor } from './basic-ftp-internals.js';

/** Wraps ctx.dataSocket so every TLS data socket is checked on 'secureConnect'. */
export function guardPinnedDataSockets(
  ctx: FTPContext,
  where: string,
  /** The socket's certificate fingerprint as users write it, and whether it is pinned. */
  check: (socket: TLSSocket) => { fingerprint: string | undefined; pinned: boolean },
): void {
  const { get, set } = dataSocketAccessor(ctx);
  Object.defineProperty(ctx, 'dataSocket', {
    configurable: true,
    get: () => get.call(ctx),
    set: (socket: unknown) => {
      // basic-ftp sets the socket right after tls.connect() and writes only after 'secureConnect':
      // this listener, added first, runs before any upload data is sent.
      if (socket instanceof TLSSocket) {
        socket.once('secureConnect', () => {
          // A resumed session proves the peer holds the keys of the verified control session (and
          // shows no certificate of its own under TLS 1.3).
          if (socket.isSessionReused()) return;
          const { fingerprint: fp, pinned } = check(socket);
          if (pinned) return;
          socket.destroy(
            new OtpBackupError(
              'trust-changed',
              `the data connection to ${where} presented certificate ${fp ?? '(none)'}, not the pinned one`,
              { hint: 'someone may be intercepting the data connections; nothing was sent on it' },
            ),
          );
        });
      }
      set.call(ctx, socket);
    },
  });
}
