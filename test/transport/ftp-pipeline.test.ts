// pipelined(): several FTP commands in one write, one reply each, errors returned in place, and
// nothing left over for the next command. A scripted server on loopback answers in order.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Client, FTPError } from 'basic-ftp';
import { pipelined, sizeFromReply } from '../../src/transport/ftp-pipeline.js';

const REPLIES: Array<[RegExp, string]> = [
  [/^USER /, '331 password please'],
  [/^PASS /, '230 in'],
  [/^SIZE a$/, '213 5'],
  [/^SIZE empty$/, '213 '],
  [/^MFMT \d{14} a$/, '213 Modify=20240101000000; a'],
  [/^RNFR (x|gone)$/, '350 ready for RNTO'],
  [/^RNTO taken$/, '550 file exists'],
  [/^RNTO /, '250 renamed'],
  [/^NOOP$/, '200 fine'],
];

let server: Server;
let port = 0;
/** Each data chunk the server received, to show a group arrives in one write. */
const chunks: string[] = [];

before(async () => {
  server = createServer((sock: Socket) => {
    sock.write('220 scripted\r\n');
    let buf = '';
    sock.on('data', (d) => {
      chunks.push(d.toString());
      buf += d.toString();
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const hit = REPLIES.find(([re]) => re.test(line));
        sock.write(`${hit ? hit[1] : '502 not scripted'}\r\n`);
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

async function client(): Promise<Client> {
  const c = new Client(5000);
  await c.connect('127.0.0.1', port);
  await c.login('u', 'p');
  return c;
}

test('a group is one write; replies come back in order, refusals as FTPError values', async () => {
  const c = await client();
  try {
    chunks.length = 0;
    const [size, mfmt] = await pipelined(c, ['SIZE a', 'MFMT 20240101000000 a']);
    assert.equal(size && !(size instanceof FTPError) ? sizeFromReply(size) : -1, 5);
    assert.equal(mfmt?.code, 213);
    assert.ok(chunks.includes('SIZE a\r\nMFMT 20240101000000 a\r\n'), JSON.stringify(chunks));

    const [rnfr, rnto] = await pipelined(c, ['RNFR x', 'RNTO taken']);
    assert.equal(rnfr?.code, 350);
    assert.ok(rnto instanceof FTPError);
    assert.equal(rnto.code, 550);
    // The refusal was consumed inside the group: the next command gets its own reply.
    assert.equal((await c.send('NOOP')).code, 200);
  } finally {
    c.close();
  }
});

test('a reply without a number gives no size; CR/LF in a command is refused before sending', async () => {
  const c = await client();
  try {
    const [r] = await pipelined(c, ['SIZE empty']);
    assert.ok(r && !(r instanceof FTPError));
    assert.equal(sizeFromReply(r), undefined);
    chunks.length = 0;
    assert.throws(() => pipelined(c, ['RNFR x', 'RNTO y\r\nDELE z']), /CR, LF or NUL/);
    assert.deepEqual(chunks, []);
    assert.equal((await c.send('NOOP')).code, 200);
  } finally {
    c.close();
  }
});

test('a closed connection rejects the group', async () => {
  const c = await client();
  c.close();
  await assert.rejects(pipelined(c, ['NOOP', 'NOOP']));
});
