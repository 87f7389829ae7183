// Reaching a server before any login: the TCP connect and the server's first words are bounded by
// their own short timeouts, and what went wrong is said plainly (refused, no answer, silent, the
// wrong protocol) at once, before a one-time code is spent. Used by the FTP and SFTP transports.
import { connect as netConnect, type Socket } from 'node:net';
import type { Account } from '../config/types.js';
import { OtpBackupError } from '../errors.js';

/** TCP connect (SYN to established) when the account sets no timeout: a LAN or WAN host answers in < 1 s. */
export const CONNECT_TIMEOUT_MS = 4000;
/** From connected to the server's first line (FTP "220", SSH "SSH-2.0-") when the account sets none.
 *  Generous: servers doing reverse DNS or ident lookups before greeting can take several seconds. */
export const GREETING_TIMEOUT_MS = 10_000;

/** Once connected: a connection silent this long (s) is given up, when the account sets no timeout. */
export const IO_TIMEOUT_S = 30;

export interface ReachTimeouts {
  connectMs: number;
  greetingMs: number;
}

/**
 * connectTimeout (--connect-timeout) bounds the connect and the greeting, each; without it an explicit
 * accounts.NAME.timeout is the user's choice for every phase (as before connectTimeout existed);
 * otherwise the short defaults.
 */
export function reachTimeouts(account: Pick<Account, 'timeout' | 'connectTimeout'>): ReachTimeouts {
  if (account.connectTimeout !== undefined && account.connectTimeout > 0) {
    const ms = account.connectTimeout * 1000;
    return { connectMs: ms, greetingMs: ms };
  }
  if (account.timeout !== undefined && account.timeout > 0) {
    const ms = account.timeout * 1000;
    return { connectMs: ms, greetingMs: ms };
  }
  return { connectMs: CONNECT_TIMEOUT_MS, greetingMs: GREETING_TIMEOUT_MS };
}

type Expect = 'ftp' | 'ssh';

const DEFAULT_PORTS = 'usually 21 for ftp:// and ftpes://, 990 for ftps://, 22 for sftp://';

/** A socket error while connecting, as one line with an honest hint. */
export function connectFailed(e: NodeJS.ErrnoException, where: string): OtpBackupError {
  const code = e.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return new OtpBackupError('network', `${where}: connection refused (nothing listens on that port)`, {
        retryable: true,
        cause: e,
        hint: `is the server running, and is the port right (${DEFAULT_PORTS})?`,
      });
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return new OtpBackupError('network', `${where}: host name not found`, {
        retryable: false,
        cause: e,
        hint: 'check the host name',
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENETDOWN':
      return new OtpBackupError('network', `${where}: host unreachable (${code})`, {
        retryable: true,
        cause: e,
        hint: 'check the host and this machine’s network connection',
      });
    default:
      return new OtpBackupError('network', `${where}: cannot connect (${code || e.message})`, {
        retryable: true,
        cause: e,
        hint: 'check the host and port',
      });
  }
}

export function connectTimedOut(where: string, ms: number, account?: string): OtpBackupError {
  return new OtpBackupError(
    'network',
    `${where}: no answer to the connection within ${ms / 1000} s (host down, or a firewall drops it)`,
    {
      retryable: true,
      hint: `check the host and port${account ? `; on a slow link raise accounts.${account}.timeout (seconds)` : ''}`,
    },
  );
}

/** Connected, but the server never spoke: not retried (the next try would wait as long again). */
export function silentServer(where: string, expect: Expect, ms: number, account?: string): OtpBackupError {
  return new OtpBackupError(
    'network',
    `${where}: connected, but the server sent no ${expect === 'ftp' ? 'FTP greeting' : 'SSH identification'} within ${ms / 1000} s`,
    {
      retryable: false,
      hint:
        expect === 'ftp'
          ? `is this the FTP port? A web or implicit-TLS port waits for the client to speak (implicit FTPS is ftps://, ${DEFAULT_PORTS})${account ? `; a slow server: raise accounts.${account}.timeout` : ''}`
          : `is this the SSH port (${DEFAULT_PORTS})?${account ? ` A slow server: raise accounts.${account}.timeout` : ''}`,
    },
  );
}

/** The first line of what the server sent, printable, for a message. */
function firstLine(text: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  return JSON.stringify(line.replace(/[^\x20-\x7e]/g, '?').slice(0, 60));
}

/**
 * The error for a first line of the wrong protocol, or undefined when it may be right: an FTP client
 * seeing "SSH-2.0-…", an SSH client seeing an FTP-style "220 …" reply.
 */
export function wrongProtocol(where: string, expect: Expect, data: string): OtpBackupError | undefined {
  if (expect === 'ftp') {
    if (/^SSH-\d/.test(data)) {
      return new OtpBackupError(
        'config',
        `${where} speaks SSH (it said ${firstLine(data)}), not FTP: this is an SSH/SFTP port`,
        { hint: `use sftp://… for SFTP, or the server's FTP port (${DEFAULT_PORTS})` },
      );
    }
    if (!/^\d{3}[ -]/.test(data)) {
      return new OtpBackupError(
        'config',
        `${where} does not speak FTP: its first line is ${firstLine(data)}, not an FTP greeting`,
        { hint: `check the port (${DEFAULT_PORTS}) and the protocol` },
      );
    }
    return undefined;
  }
  // RFC 4253 allows other lines before "SSH-"; an FTP/SMTP-style reply code is not one of them.
  if (/^[1-5]\d\d[ -]/.test(data)) {
    return new OtpBackupError(
      'config',
      `${where} speaks FTP (it said ${firstLine(data)}), not SSH: this is an FTP port`,
      { hint: `use ftp://… or ftpes://… for FTP, or the server's SSH port (${DEFAULT_PORTS})` },
    );
  }
  return undefined;
}

/**
 * A TCP connection to host:port whose server has spoken and, by its first line, speaks SSH.
 * The bytes read are put back (unshift) for the SSH library; the socket is paused.
 */
export function openSshSocket(
  host: string,
  port: number,
  t: ReachTimeouts & { account?: string; signal?: AbortSignal },
): Promise<Socket> {
  const where = `${host}:${port}`;
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port });
    let timer: NodeJS.Timeout | undefined;
    let seen = Buffer.alloc(0);
    const fail = (e: OtpBackupError | Error) => {
      clearTimeout(timer);
      t.signal?.removeEventListener('abort', onAbort);
      sock.removeAllListeners('data');
      sock.on('error', () => {});
      sock.destroy();
      reject(e);
    };
    const onAbort = () => fail(t.signal?.reason ?? new OtpBackupError('interrupted', 'interrupted'));
    if (t.signal?.aborted) return onAbort();
    t.signal?.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => fail(connectTimedOut(where, t.connectMs, t.account)), t.connectMs);
    sock.once('error', (e: NodeJS.ErrnoException) => fail(connectFailed(e, where)));
    sock.once('close', () =>
      fail(
        new OtpBackupError('network', `${where} closed the connection before saying anything`, {
          retryable: true,
        }),
      ),
    );
    sock.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(silentServer(where, 'ssh', t.greetingMs, t.account)), t.greetingMs);
    });
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const text = seen.toString('latin1');
      const wrong = wrongProtocol(where, 'ssh', text);
      if (wrong) return fail(wrong);
      // Wait for a whole first line (or enough bytes) before deciding it is not FTP.
      if (!/\n/.test(text) && seen.length < 256) return;
      clearTimeout(timer);
      t.signal?.removeEventListener('abort', onAbort);
      sock.removeListener('data', onData);
      sock.removeAllListeners('error');
      sock.removeAllListeners('close');
      sock.pause();
      sock.unshift(seen);
      resolve(sock);
    };
    sock.on('data', onData);
  });
}
