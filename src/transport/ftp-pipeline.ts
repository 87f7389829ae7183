// FTP command pipelining: several commands in one write, one reply read per command, in order.
// RFC 959 servers read the control connection as a stream of commands, so this is safe, and it
// turns the per-file tail of an upload (SIZE+MFMT, then RNFR+RNTO) from four round trips into two —
// the cost that dominates many small files. basic-ftp sends one command per task and refuses CR/LF
// in a command, so the group is written to its control socket inside one basic-ftp task.
import { type Client, FTPError, type FTPResponse } from 'basic-ftp';

const CONTROL = /[\r\n\0]/;

/**
 * Sends `commands` in one write and resolves with one reply per command. Replies ≥ 400 come back
 * as FTPError values rather than rejections: every reply of the group must be read before the
 * next task, or a late one would be taken as the answer to the next command.
 */
export function pipelined(client: Client, commands: string[]): Promise<Array<FTPResponse | FTPError>> {
  for (const c of commands)
    if (CONTROL.test(c)) throw new Error('refusing an FTP command holding CR, LF or NUL');
  const ftp = client.ftp;
  const replies: Array<FTPResponse | FTPError> = [];
  const task: Promise<Array<FTPResponse | FTPError>> = ftp.handle(undefined, (res, t) => {
    if (res instanceof FTPError) replies.push(res);
    else if (res instanceof Error) return t.reject(res);
    else if (res.code < 200)
      return; // a preliminary reply; the final one follows
    else replies.push(res);
    if (replies.length === commands.length) t.resolve(replies);
  });
  if (!client.closed) {
    // Masked like basic-ftp's own send(): a password never reaches the protocol log.
    for (const c of commands) ftp.log(/^PASS /i.test(c) ? '> PASS ###' : `> ${c}`);
    ftp.socket.write(commands.map((c) => `${c}\r\n`).join(''), ftp.encoding);
  }
  return task;
}

/** The byte count of a SIZE reply ("213 4096"), or undefined where it carries none. */
export function sizeFromReply(res: FTPResponse): number | undefined {
  const m = /^\d{3}\s+(\d+)\s*$/.exec(res.message.trim());
  return m ? Number(m[1]) : undefined;
}
