// FTP command pipelining: several commands in one write, one reply read per command, in order.
// RFC 959 servers read the control connection as a stream of commands, so this is safe, and it
// turns the per-file tail of an upload (SIZE+MFMT, then RNFR+RNTO) from four round trips into two —
// the cost that dominates many small files. basic-ftp sends one command per task and refuses CR/LF
// in a command, so the group is written to its control socket inside one basic-ftp task.
//
// The commit group also carries the next upload's EPSV (a prefetched passive port), so each small
// file costs three round trips (STOR, SIZE+MFMT, RNFR+RNTO+EPSV) — as many as lftp's PASV, STOR,
// MFMT. basic-ftp opens data connections through Client.prepareTransfer; withPrefetchedPort() swaps
// in one that connects to the prefetched port, and falls back to a fresh EPSV if that fails.
// A prefetched port that no transfer will use is released (releasePrefetchedPort) when the session
// ends: the server's listener for it would otherwise wait for its own timeout.

import { connect } from 'node:net';
import { type Client, FTPError, type FTPResponse } from 'basic-ftp';
import { hasRawBytes, rawBytes } from '../../scan/raw-name.js';
import {
  connectForPassiveTransfer,
  controlSocket,
  encodingOf,
  handleReplies,
  parseEpsvResponse,
  protocolLog,
  setTransferStrategy,
  transferStrategy,
  usesEpsv,
  writeControl,
} from './basic-ftp-internals.js';

export { usesEpsv };

const CONTROL = /[\r\n\0]/;

/**
 * Sends `commands` in one write and resolves with one reply per command. Replies ≥ 400 come back
 * as FTPError values rather than rejections: every reply of the group must be read before the
 * next task, or a late one would be taken as the answer to the next command.
 */
export function pipelined(client: Client, commands: string[]): Promise<Array<FTPResponse | FTPError>> {
  for (const c of commands)
    if (CONTROL.test(c)) throw new Error('refusing an FTP command holding CR, LF or NUL');
  const replies: Array<FTPResponse | FTPError> = [];
  const task = handleReplies<Array<FTPResponse | FTPError>>(client, (res, t) => {
    if (res instanceof FTPError) replies.push(res);
    else if (res instanceof Error) return t.reject(res);
    else if (res.code < 200)
      return; // a preliminary reply; the final one follows
    else replies.push(res);
    if (replies.length === commands.length) t.resolve(replies);
  });
  if (!client.closed) {
    // Masked like basic-ftp's own send(): a password never reaches the protocol log.
    for (const c of commands) protocolLog(client, /^PASS /i.test(c) ? '> PASS ###' : `> ${c}`);
    const text = commands.map((c) => `${c}\r\n`).join('');
    // Paths holding bytes that are not UTF-8 go out as those bytes (see sendRawNames in ftp.ts).
    writeControl(client, hasRawBytes(text) || encodingOf(client) !== 'utf8' ? rawBytes(text) : text);
  }
  return task;
}

/** The byte count of a SIZE reply ("213 4096"), or undefined where it carries none. */
export function sizeFromReply(res: FTPResponse): number | undefined {
  const m = /^\d{3}\s+(\d+)\s*$/.exec(res.message.trim());
  return m ? Number(m[1]) : undefined;
}

/** The port of an EPSV reply in a pipelined group, or undefined if it was refused or unreadable. */
export function epsvPort(reply: FTPResponse | FTPError | undefined): number | undefined {
  if (!reply || reply instanceof FTPError || reply.code !== 229) return undefined;
  try {
    const port = parseEpsvResponse(reply.message);
    return port > 0 && port < 65536 ? port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `transfer` with its data connection opened to `port` (an EPSV reply read earlier on this
 * session, with no command in between). If that connect fails the usual strategy (a fresh EPSV)
 * runs instead. EPSV names no host: the data connection goes to the control connection's peer.
 */
export async function withPrefetchedPort<T>(
  client: Client,
  port: number | undefined,
  transfer: () => Promise<T>,
): Promise<T> {
  const host = controlSocket(client).remoteAddress;
  if (port === undefined || host === undefined || !usesEpsv(client)) return transfer();
  const usual = transferStrategy(client);
  let used = false;
  setTransferStrategy(client, async (ftp) => {
    setTransferStrategy(client, usual); // one transfer only
    try {
      await connectForPassiveTransfer(host, port, ftp);
      used = true;
      protocolLog(client, `data connection to the prefetched passive port ${port}`);
      return { code: 229, message: `prefetched passive port ${port}` };
    } catch {
      protocolLog(client, `prefetched passive port ${port} refused; asking again`);
      return usual(ftp);
    }
  });
  try {
    return await transfer();
  } catch (e) {
    // The server no longer listened for it (425 "can't open data connection") while the control
    // session is fine: once more with a fresh EPSV, rather than a reconnect and a new login.
    if (used && e instanceof FTPError && e.code === 425 && !client.closed) return transfer();
    throw e;
  } finally {
    setTransferStrategy(client, usual);
  }
}

/**
 * Opens, and at once closes, a data connection to a prefetched passive `port` that no transfer will
 * use, just before the session ends, so the server drops its listener now rather than at its own
 * timeout (ftp-srv keeps one, and a 30 s timer, alive in the server's process; ProFTPD and vsftpd
 * drop it at QUIT anyway, so the connection costs them nothing). Plain TCP even under TLS: a TLS
 * server only answers a data handshake after a transfer command, which would make this wait.
 * Best effort: bounded by `timeoutMs`, never rejects.
 */
export function releasePrefetchedPort(client: Client, port: number, timeoutMs = 1000): Promise<void> {
  const host = controlSocket(client).remoteAddress;
  if (host === undefined || client.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    socket.once('connect', done);
    socket.once('error', done);
  });
}

/**
 * Waits for one final reply (≥ 200, errors included) on the control connection: the STOR's own
 * 226/426 after its data connection was cut, so that it is not taken for the answer to the next
 * command. False when none came within `ms`; the session is then out of step and must be closed.
 */
export async function awaitFinalReply(client: Client, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const reply = handleReplies(client, (res, t) => {
    if (res instanceof FTPError) t.resolve(res);
    else if (res instanceof Error) t.reject(res);
    else if (res.code >= 200) t.resolve(res);
  });
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      reply.then(
        () => true,
        () => false,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
