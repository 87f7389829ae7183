// The steps of one FTP session's start, before and after the login: connect and greeting under the
// reach timeouts (the wrong protocol named), AUTH TLS, raw-byte names on the control connection,
// and the settings group after login (FEAT, TYPE, OPTS, PBSZ/PROT, PWD) in two round trips.
// The login itself (the code folded into the password by the template) is FtpTransport.open.
import type { ConnectionOptions } from 'node:tls';
import { type Client, FTPError } from 'basic-ftp';
import type { Account } from '../../config/types.js';
import { isOtpBackupError, OtpBackupError } from '../../errors.js';
import { hasRawBytes, rawBytes, showRaw } from '../../scan/raw-name.js';
import { redact } from '../../secrets/redact.js';
import { connectFailed, connectTimedOut, reachTimeouts, silentServer, wrongProtocol } from '../reach.js';
import { normalize } from '../remote-path.js';
import {
  closeWithError,
  controlSocket,
  encodingOf,
  hasTLS,
  protocolLog,
  setListCommands,
  swapTaskTimeout,
  wrapSend,
  writeControl,
} from './basic-ftp-internals.js';
import { CONNECT_CODES } from './errors.js';
import { pipelined } from './pipeline.js';

/**
 * basic-ftp writes every command as a string in one encoding (UTF-8 here). A path holding bytes
 * that are not UTF-8 (scan/raw-name.ts: a Latin-1 name) is written as exactly those bytes instead:
 * FTP carries bytes, and servers store them as they come (#14.2). Every other command is unchanged.
 */
export function sendRawNames(client: Client): void {
  wrapSend(client, (send) => (command: string) => {
    // While a listing is read as latin1 (listWith), commands still go out as UTF-8.
    if (!hasRawBytes(command) && encodingOf(client) === 'utf8') return send(command);
    if (/[\r\n\0]/.test(command)) throw new Error('Invalid command: Contains control characters.');
    protocolLog(client, /^PASS /i.test(command) ? '> PASS ###' : `> ${showRaw(command)}`);
    writeControl(client, rawBytes(`${command}\r\n`));
  });
}

/**
 * Connects and reads the greeting under the short reach timeouts (reach.ts): a refused port, a host
 * that does not answer, a silent listener and an SSH server are told apart before anything is sent.
 */
export async function greet(
  client: Client,
  a: Account,
  tlsOpts: ConnectionOptions | undefined,
): Promise<void> {
  const where = `${a.host}:${a.port}`;
  const t = reachTimeouts(a);
  const implicit = a.protocol === 'ftps-implicit';
  const opTimeout = swapTaskTimeout(client, 0); // our timers below bound the connect and the greeting
  const greeting = implicit
    ? client.connectImplicitTLS(a.host, a.port, tlsOpts)
    : client.connect(a.host, a.port);
  const sock = controlSocket(client);
  const fail = (e: Error) => closeWithError(client, e);
  let timer = setTimeout(() => fail(connectTimedOut(where, t.connectMs, a.name)), t.connectMs);
  sock.once(implicit ? 'secureConnect' : 'connect', () => {
    clearTimeout(timer);
    timer = setTimeout(() => fail(silentServer(where, 'ftp', t.greetingMs, a.name)), t.greetingMs);
  });
  // First in line, so an "SSH-2.0-…" banner is named before basic-ftp waits for a reply code.
  sock.prependOnceListener('data', (chunk: string | Buffer) => {
    clearTimeout(timer);
    const wrong = implicit ? undefined : wrongProtocol(where, 'ftp', String(chunk));
    if (wrong) fail(wrong);
  });
  try {
    await greeting;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!isOtpBackupError(e) && typeof code === 'string' && CONNECT_CODES.has(code))
      throw connectFailed(e as NodeJS.ErrnoException, where);
    throw e;
  } finally {
    clearTimeout(timer);
    swapTaskTimeout(client, opTimeout);
  }
}

/** AUTH TLS; a refusal means the server has no TLS, which is not a refused login. */
export async function startTls(
  client: Client,
  where: string,
  tlsOpts: ConnectionOptions | undefined,
): Promise<void> {
  try {
    await client.useTLS(tlsOpts);
  } catch (e) {
    if (e instanceof FTPError && e.code >= 500 && e.code < 600) {
      const text = redact(e.message.replace(/\s+/g, ' ').trim()).slice(0, 120);
      throw new OtpBackupError(
        'remote',
        `${where} does not offer TLS: it answered AUTH TLS with "${text}"; nothing was sent`,
        {
          cause: e,
          hint: 'ask its administrator to enable FTPS; ftp:// would send the password and the code unencrypted',
        },
      );
    }
    throw e;
  }
}

/**
 * What basic-ftp's useDefaultSettings() does, in two round trips instead of up to eight: FEAT
 * once (it asked twice, and so did we), then TYPE, STRU, OPTS, PBSZ/PROT and PWD in one write.
 * Each extra session of a pool pays this, so it is part of the per-connection cost.
 */
export async function settle(client: Client): Promise<{ features: Map<string, string>; home: string }> {
  const features = await client.features();
  const mlsd = features.has('MLST');
  setListCommands(client, mlsd ? ['MLSD', 'LIST -a', 'LIST'] : ['LIST -a', 'LIST']);
  const group = [
    'TYPE I',
    'STRU F',
    'OPTS UTF8 ON',
    ...(mlsd
      ? ['OPTS MLST type;size;modify;unique;unix.mode;unix.owner;unix.group;unix.ownername;unix.groupname;']
      : []),
    ...(hasTLS(client) ? ['PBSZ 0', 'PROT P'] : []),
    'PWD',
  ];
  const replies = await pipelined(client, group);
  const type = replies[0];
  if (type instanceof FTPError) throw type; // binary mode is not optional
  const pwd = replies[replies.length - 1];
  const m = pwd && !(pwd instanceof FTPError) ? /"(.+)"/.exec(pwd.message) : null;
  return { features, home: normalize(m?.[1] ?? '/') };
}
