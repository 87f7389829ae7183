// Every use of basic-ftp beyond its documented Client API, in one place. basic-ftp sends one
// command per task, waits for each reply, opens data connections its own way and has no hook for
// raw bytes; pipelining, prefetched passive ports, raw names, pinned data certificates and our own
// connect timers need its FTPContext (`client.ftp`) and transfer helpers. They are typed in its
// .d.ts but undocumented and may change in any release: basic-ftp is pinned exactly (package.json)
// and test/transport/basic-ftp-pin.test.ts checks the version and every member named in
// INTERNAL_MEMBERS on a real Client, so an upgrade fails there, loudly, and nowhere else.
import type { Socket } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { type Client, enterPassiveModeIPv6, type FTPContext, type ResponseHandler } from 'basic-ftp';
// Not re-exported by the package index.
import { connectForPassiveTransfer, parseEpsvResponse } from 'basic-ftp/dist/transfer.js';

/** The members reached here, by owner, with the `typeof` each must have (checked by the pin test). */
export const INTERNAL_MEMBERS = {
  Client: { ftp: 'object', prepareTransfer: 'function', availableListCommands: 'object' },
  FTPContext: {
    socket: 'object',
    encoding: 'string',
    timeout: 'number',
    verbose: 'boolean',
    tlsOptions: 'object',
    hasTLS: 'boolean',
    send: 'function',
    log: 'function',
    handle: 'function',
    closeWithError: 'function',
  },
  /** Accessor properties of FTPContext.prototype that guardPinnedDataSockets wraps (get and set). */
  FTPContextAccessors: ['dataSocket'],
  'basic-ftp/dist/transfer.js': {
    connectForPassiveTransfer: 'function',
    parseEpsvResponse: 'function',
    enterPassiveModeIPv6: 'function',
  },
} as const;

/** FTPContext: the control connection under a Client (its `ftp` field, typed but undocumented). */
export function contextOf(client: Client): FTPContext {
  return client.ftp;
}

/** The control socket: its peer is the data host for EPSV, its TLS certificate is verified by us. */
export function controlSocket(client: Client): Socket | TLSSocket {
  return client.ftp.socket;
}

/** The current data socket, if any: cut at once on Ctrl-C so a STOR ends early. */
export function dataSocket(client: Client): Socket | TLSSocket | undefined {
  return client.ftp.dataSocket;
}

/** Whether the control connection is TLS: decides PBSZ/PROT and the empty-upload workaround. */
export function hasTLS(client: Client): boolean {
  return client.ftp.hasTLS;
}

/**
 * Writes bytes to the control connection past basic-ftp's send() (which writes one string per
 * task): a pipelined group, or a command holding raw (non-UTF-8) name bytes.
 */
export function writeControl(client: Client, data: string | Buffer): void {
  if (typeof data === 'string') client.ftp.socket.write(data, client.ftp.encoding);
  else client.ftp.socket.write(data);
}

/** The encoding basic-ftp decodes replies and listings with; latin1 while a listing keeps raw bytes. */
export function encodingOf(client: Client): string | undefined {
  return client.ftp.encoding;
}

export function setEncoding(client: Client, encoding: 'utf8' | 'latin1'): void {
  client.ftp.encoding = encoding;
}

/** One line of basic-ftp's protocol log (our lines beside its own, masked like its send()). */
export function protocolLog(client: Client, line: string): void {
  client.ftp.log(line);
}

/** Replaces basic-ftp's logger (its own checks `verbose`; ours is for --debug only). */
export function setProtocolLogger(client: Client, verbose: boolean, log: (msg: string) => void): void {
  client.ftp.verbose = verbose;
  client.ftp.log = log;
}

/** Wraps FTPContext.send, the one path of every command basic-ftp writes (raw-byte names). */
export function wrapSend(
  client: Client,
  wrap: (send: (command: string) => void) => (command: string) => void,
): void {
  const ftp = client.ftp;
  ftp.send = wrap(ftp.send.bind(ftp));
}

/**
 * Reads replies with `handler` as one basic-ftp task, sending nothing (the commands were written
 * with writeControl, or the reply is a late one still due): the task keeps basic-ftp's own reader
 * and timeout in charge, and the next task waits for it.
 */
export function handleReplies<T>(client: Client, handler: ResponseHandler): Promise<T> {
  return client.ftp.handle(undefined, handler) as Promise<T>;
}

/** Fails the current task and closes: our connect/greeting timers end a connect this way. */
export function closeWithError(client: Client, e: Error): void {
  client.ftp.closeWithError(e);
}

/**
 * Sets basic-ftp's per-task socket timeout (typed readonly, a plain field read at the start of
 * each task) and returns the previous one: 0 while our own timers bound the connect and greeting.
 */
export function swapTaskTimeout(client: Client, ms: number): number {
  const ctx = client.ftp as { timeout: number };
  const before = ctx.timeout;
  ctx.timeout = ms;
  return before;
}

/** TLS options of the data connections (they resume the verified control session). */
export function setDataTlsOptions(client: Client, options: ConnectionOptions): void {
  client.ftp.tlsOptions = options;
}

/**
 * The prototype accessor of FTPContext.dataSocket, which guardPinnedDataSockets wraps per context
 * to check each data connection's certificate before a byte is written.
 */
export function dataSocketAccessor(ctx: FTPContext): { get: () => unknown; set: (v: unknown) => void } {
  const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ctx), 'dataSocket');
  if (!d?.get || !d.set) throw new Error('basic-ftp: FTPContext.dataSocket is no longer an accessor');
  return { get: d.get, set: d.set };
}

/** How this session opens data connections (basic-ftp settles it on the first transfer). */
export type TransferStrategy = Client['prepareTransfer'];

export function transferStrategy(client: Client): TransferStrategy {
  return client.prepareTransfer;
}

/** Swaps the strategy for a prefetched passive port (one transfer), and back. */
export function setTransferStrategy(client: Client, strategy: TransferStrategy): void {
  client.prepareTransfer = strategy;
}

/** Whether basic-ftp settled on EPSV for this session (only then is EPSV worth sending ahead). */
export function usesEpsv(client: Client): boolean {
  return client.prepareTransfer === enterPassiveModeIPv6;
}

/** The listing commands to try, in order: MLSD first where FEAT has MLST (no extra FEAT). */
export function setListCommands(client: Client, commands: string[]): void {
  client.availableListCommands = commands;
}

/** basic-ftp's data connect (with its TLS upgrade) and EPSV parser, for prefetched ports. */
export { connectForPassiveTransfer, parseEpsvResponse };
