// pipelined(): several FTP commands in one write, one reply each, errors returned in place, and
// nothing left over for the next command. A scripted server on loopback answers in order.
// withPrefetchedPort(): an upload uses an EPSV port read earlier, and falls back to a fresh EPSV when
// that port is closed or the server will not use it (425); the scripted server runs real passive
// listeners for this.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Client, enterPassiveModeIPv6, FTPError } from 'basic-ftp';
import { epsvPort, pipelined, sizeFromReply, withPrefetchedPort } from '../../src/transport/ftp/pipeline.js';

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
/** Commands received, and files stored (name → content). */
const commands: string[] = [];
const stored = new Map<string, string>();
/** When set, the next STOR on a data connection is answered 425 (a listener the server dropped). */
let refuseNextStor = false;
const listeners: Server[] = [];

/** EPSV: a real passive listener; the next STOR reads the file from its first connection. */
function passive(): Promise<{ port: number; data: Promise<Socket> }> {
  const l = createServer();
  listeners.push(l);
  const data = new Promise<Socket>((r) => l.once('connection', r));
  return new Promise((r) =>
    l.listen(0, '127.0.0.1', () => r({ port: (l.address() as { port: number }).port, data })),
  );
}

before(async () => {
  server = createServer((sock: Socket) => {
    sock.write('220 scripted\r\n');
    let buf = '';
    let pasv: Promise<{ port: number; data: Promise<Socket> }> | undefined;
    // Commands are answered strictly in order, even those that wait for a data connection.
    let chain = Promise.resolve();
    const answer = async (line: string) => {
      commands.push(line);
      if (line === 'EPSV') {
        pasv = passive();
        return sock.write(`229 Entering Extended Passive Mode (|||${(await pasv).port}|)\r\n`);
      }
      const stor = /^STOR (.+)$/.exec(line);
      if (stor) {
        const p = pasv;
        pasv = undefined;
        if (!p) return sock.write('425 no EPSV first\r\n');
        const data = await (await p).data;
        if (refuseNextStor) {
          refuseNextStor = false;
          data.destroy();
          return sock.write("425 Can't open data connection\r\n");
        }
        sock.write('150 go\r\n');
        let body = '';
        for await (const c of data) body += c.toString();
        stored.set(stor[1] as string, body);
        return sock.write('226 stored\r\n');
      }
      const hit = REPLIES.find(([re]) => re.test(line));
      sock.write(`${hit ? hit[1] : '502 not scripted'}\r\n`);
    };
    sock.on('data', (d) => {
      chunks.push(d.toString());
      buf += d.toString();
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        chain = chain.then(async () => {
          await answer(line);
        });
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => {
  server.close();
  for (const l of listeners) l.close();
});

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

/** A client that settled on EPSV, as basic-ftp does after its first transfer. */
async function epsvClient(): Promise<Client> {
  const c = await client();
  c.prepareTransfer = enterPassiveModeIPv6;
  return c;
}

const upload = (c: Client, name: string, body: string) => () =>
  c.uploadFrom(Readable.from([Buffer.from(body)]), name);

test('an upload uses the EPSV port prefetched in a group: no EPSV of its own', async () => {
  const c = await epsvClient();
  try {
    const [rnto, epsv] = await pipelined(c, ['RNTO b', 'EPSV']);
    assert.equal(rnto?.code, 250);
    const port = epsvPort(epsv);
    assert.ok(port && port > 0, 'a port from the 229 reply');
    commands.length = 0;
    await withPrefetchedPort(c, port, upload(c, 'pre.txt', 'prefetched'));
    assert.deepEqual(commands, ['STOR pre.txt']);
    assert.equal(stored.get('pre.txt'), 'prefetched');
    assert.equal(c.prepareTransfer, enterPassiveModeIPv6, 'the usual strategy is back');
  } finally {
    c.close();
  }
});

test('a prefetched port that is closed: a fresh EPSV, and the upload succeeds', async () => {
  const c = await epsvClient();
  try {
    const gone = await passive();
    await new Promise<void>((r) => listeners.pop()?.close(() => r()));
    commands.length = 0;
    await withPrefetchedPort(c, gone.port, upload(c, 'fresh.txt', 'fresh'));
    assert.deepEqual(commands, ['EPSV', 'STOR fresh.txt']);
    assert.equal(stored.get('fresh.txt'), 'fresh');
  } finally {
    c.close();
  }
});

test('a prefetched port the server will not use (425): once more with a fresh EPSV, same session', async () => {
  const c = await epsvClient();
  try {
    const [epsv] = await pipelined(c, ['EPSV']);
    refuseNextStor = true;
    commands.length = 0;
    await withPrefetchedPort(c, epsvPort(epsv), upload(c, 'again.txt', 'again'));
    assert.deepEqual(commands, ['STOR again.txt', 'EPSV', 'STOR again.txt']);
    assert.equal(stored.get('again.txt'), 'again');
    assert.equal((await c.send('NOOP')).code, 200, 'the control session is fine');
  } finally {
    c.close();
  }
});

test('a 425 without a prefetched port is not retried here; refused or odd EPSV replies give no port', async () => {
  const c = await epsvClient();
  try {
    refuseNextStor = true;
    await assert.rejects(withPrefetchedPort(c, undefined, upload(c, 'no.txt', 'no')), /425/);
    assert.equal(stored.has('no.txt'), false);
  } finally {
    c.close();
  }
  assert.equal(epsvPort(undefined), undefined);
  assert.equal(epsvPort(new FTPError({ code: 500, message: '500 EPSV not understood' })), undefined);
  assert.equal(epsvPort({ code: 229, message: '229 (|||0|)' }), undefined);
  assert.equal(epsvPort({ code: 229, message: '229 no port' }), undefined);
  assert.equal(epsvPort({ code: 229, message: '229 Entering Extended Passive Mode (|||6446|)' }), 6446);
});
