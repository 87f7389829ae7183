// Several SFTP channels on the one authenticated SSH connection (#18). OpenSSH's sshd starts one
// sftp-server process per channel, so files spread over 2-4 channels spread the server's work over
// its cores, with one login and one code. Extra channels are opened lazily, only once every open
// channel has work (a run of one file, or nothing to do, never pays for them); a server that
// refuses one (sshd MaxSessions, ProFTPD SFTPMaxChannels) leaves the pool at what it has.
import type { SFTPWrapper } from 'ssh2';

export interface Channel {
  readonly sftp: SFTPWrapper;
  /** Files using this channel now (each file keeps to the channel its handle belongs to). */
  busy: number;
}

export interface ChannelPoolOptions {
  /** The channel the login opened: always there. */
  first: SFTPWrapper;
  /** Most channels wanted (1: never open another). */
  max: number;
  /** Opens one more SFTP channel on the same connection. */
  open(): Promise<SFTPWrapper>;
  /** A channel opened later: the caller watches it like the first (its close is the connection's). */
  added?(s: SFTPWrapper): void;
  log?(line: string): void;
}

export class ChannelPool {
  readonly channels: Channel[];
  private opening = 0;
  /** The server refused a channel: ask no more on this connection. */
  private refused = false;
  private dead = false;

  constructor(private readonly o: ChannelPoolOptions) {
    this.channels = [{ sftp: o.first, busy: 0 }];
  }

  has(s: SFTPWrapper): boolean {
    return this.channels.some((c) => c.sftp === s);
  }

  /**
   * The least busy channel, counted busy until `release`. A file that finds no idle channel starts
   * opening another (if allowed) for the files that come next; one file at a time never does.
   */
  acquire(): Channel {
    let best = this.channels[0] as Channel;
    for (const c of this.channels) if (c.busy < best.busy) best = c;
    if (best.busy > 0) this.grow();
    best.busy++;
    return best;
  }

  release(c: Channel): void {
    c.busy = Math.max(0, c.busy - 1);
  }

  /** The connection is gone: channels still opening are closed when they arrive. */
  close(): void {
    this.dead = true;
  }

  private grow(): void {
    if (this.dead || this.refused || this.channels.length + this.opening >= this.o.max) return;
    this.opening++;
    this.o.open().then(
      (s) => {
        this.opening--;
        if (this.dead) {
          s.end();
          return;
        }
        this.o.added?.(s);
        this.channels.push({ sftp: s, busy: 0 });
        this.o.log?.(`sftp: SFTP channel ${this.channels.length} of ${this.o.max} open`);
      },
      (e: Error) => {
        this.opening--;
        if (this.dead || this.refused) return;
        this.refused = true;
        this.o.log?.(
          `sftp: the server refused SFTP channel ${this.channels.length + 1} (${e.message}); going on with ${this.channels.length}`,
        );
      },
    );
  }
}
