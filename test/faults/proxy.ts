// A loopback TCP proxy for fault tests: client ⇄ proxy ⇄ server, with faults armed at byte offsets
// counted over all traffic (both directions, every connection). When the counter passes the armed
// offset, the connection carrying that byte is reset (RST) or stalled (nothing forwarded either way
// for a while, then forwarding resumes if both ends are still there).
//
// FTP: with `ftp: true` the proxy rewrites the server's 227 (PASV) and 229 (EPSV) replies so that
// passive data connections go through the proxy as well (a one-shot listener per reply), and faults
// hit data transfers, not only the control connection.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

export type FaultKind = 'reset' | 'stall';
export interface Fault {
  kind: FaultKind;
  /** Bytes (over all traffic since the previous fault fired) before this one fires. */
  afterBytes: number;
  /** stall: how long nothing is forwarded. */
  stallMs?: number;
}
export interface FiredFault extends Fault {
  /** 'control' or 'data' (FTP), or 'conn' (anything else). */
  on: 'control' | 'data' | 'conn';
  atMs: number;
}

export class FaultProxy {
  readonly fired: FiredFault[] = [];
  connections = 0;
  /** Bytes the clients sent (client → server, every connection): what an upload cost on the wire. */
  upBytes = 0;
  private server: Server | undefined;
  private readonly extra = new Set<Server>();
  private readonly sockets = new Set<Socket>();
  private readonly pending: Fault[] = [];
  private counted = 0;
  private nextFree = 0;
  /** Bytes per second (see the constructor's `rate`); may be changed at any time, 0 = unpaced. */
  rate: number;
  private readonly t0 = Date.now();
  port = 0;

  constructor(
    private readonly target: number,
    private readonly opts: {
      ftp?: boolean;
      /** Bytes per second over all connections: a slow link, with backpressure (the sending side
       *  is not read while its bytes wait), so a transfer takes long enough to act on mid-way. */
      rate?: number;
    } = {},
  ) {
    this.rate = opts.rate ?? 0;
  }

  async start(): Promise<this> {
    this.server = createServer((c) => this.pipe(c, this.target, this.opts.ftp ? 'control' : 'conn'));
    this.port = await listen(this.server);
    return this;
  }

  /** Queues faults; each fires after its afterBytes, counted from when the previous one fired. */
  arm(...faults: Fault[]): void {
    this.pending.push(...faults);
  }

  /** Counts the next fault's afterBytes from now, not from the previous fault (or the start). */
  resetCount(): void {
    this.counted = 0;
  }

  get armed(): number {
    return this.pending.length;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const srv of [this.server, ...this.extra])
      await new Promise<void>((r) => (srv ? srv.close(() => r()) : r()));
  }

  private pipe(client: Socket, port: number, on: FiredFault['on']): void {
    this.connections++;
    const upstream = tcpConnect({ host: '127.0.0.1', port });
    const pair = [client, upstream];
    for (const s of pair) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        for (const x of pair) x.destroy();
      });
    }
    let stalled = false;
    const held: Array<[Socket, Buffer]> = [];
    const send = (to: Socket, b: Buffer) => {
      if (stalled) held.push([to, b]);
      else if (!to.destroyed) to.write(b);
    };
    const onBytes = (to: Socket, b: Buffer) => {
      const f = this.pending[0];
      if (f && this.counted + b.length >= f.afterBytes) {
        // Forward the bytes before the fault offset, then fault.
        const cut = Math.max(0, f.afterBytes - this.counted);
        this.pending.shift();
        this.counted = 0;
        this.fired.push({ ...f, on, atMs: Date.now() - this.t0 });
        if (cut > 0) send(to, b.subarray(0, cut));
        if (f.kind === 'reset') {
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        stalled = true;
        held.push([to, b.subarray(cut)]);
        setTimeout(() => {
          stalled = false;
          for (const [s, x] of held.splice(0)) if (!s.destroyed) s.write(x);
        }, f.stallMs ?? 5000).unref();
        return;
      }
      this.counted += b.length;
      send(to, b);
    };
    // Server → client on an FTP control connection: whole lines, so PASV/EPSV replies can be rewritten.
    let line = '';
    let order = Promise.resolve(); // replies stay in order while a rewrite waits for its listener
    /** Paced forwarding (opts.rate): `from` is paused until the link has carried `b`. */
    const waiting = new Map<Socket, Promise<void>>(); // a chunk of `from` not forwarded yet
    const paced = (from: Socket, to: Socket, b: Buffer) => {
      const rate = this.rate;
      if (!rate) return onBytes(to, b);
      const now = Date.now();
      this.nextFree = Math.max(now, this.nextFree) + (b.length / rate) * 1000;
      from.pause();
      waiting.set(
        from,
        new Promise<void>((r) =>
          setTimeout(() => {
            onBytes(to, b);
            from.resume();
            r();
          }, this.nextFree - now).unref(),
        ),
      );
    };
    /** `end` after the bytes still waiting to be forwarded. */
    const endAfter = (from: Socket, to: Socket) => {
      void (waiting.get(from) ?? Promise.resolve()).then(() => to.end());
    };
    upstream.on('data', (b: Buffer) => {
      if (on !== 'control') return paced(upstream, client, b);
      line += b.toString('latin1');
      const end = line.lastIndexOf('\n');
      if (end < 0) return;
      const text = line.slice(0, end + 1);
      line = line.slice(end + 1);
      order = order.then(async () => onBytes(client, Buffer.from(await this.rewrite(text), 'latin1')));
    });
    client.on('data', (b: Buffer) => {
      this.upBytes += b.length;
      paced(client, upstream, b);
    });
    client.on('end', () => endAfter(client, upstream));
    upstream.on('end', () => endAfter(upstream, client));
  }

  /** Rewrites passive-mode replies to point at a one-shot listener of the proxy. */
  private async rewrite(text: string): Promise<string> {
    const pasv = /^227 .*?\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/m.exec(text);
    const epsv = /^229 .*?\(\|\|\|(\d+)\|\)/m.exec(text);
    if (!pasv && !epsv) return text;
    const serverPort = pasv ? Number(pasv[5]) * 256 + Number(pasv[6]) : Number(epsv?.[1]);
    const srv = createServer((c) => {
      srv.close();
      this.extra.delete(srv);
      this.pipe(c, serverPort, 'data');
    });
    this.extra.add(srv);
    const p = await listen(srv);
    setTimeout(() => {
      srv.close();
      this.extra.delete(srv);
    }, 30_000).unref();
    if (pasv)
      return text.replace(
        pasv[0],
        `${pasv[0].slice(0, pasv[0].indexOf('('))}(127,0,0,1,${p >> 8},${p & 255})`,
      );
    return text.replace(`(|||${serverPort}|)`, `(|||${p}|)`);
  }
}

function listen(srv: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}
