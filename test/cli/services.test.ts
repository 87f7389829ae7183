// CliContext's services are the one way commands log in: a context with its own `connect` gets
// every login of `upload` and `run`, with the rule each command promises (upload never prompts;
// run asks on a terminal and reads the account's secrets through the config). In process, with
// the engine tests' LocalTransport standing in for the server behind the seam.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { ConnectOptions } from '../../src/cli/connect.js';
import type { CliContextInit } from '../../src/cli/context.js';
import { main } from '../../src/cli/main.js';
import type { Account } from '../../src/config/types.js';
import { systemClock } from '../../src/schedule/clock.js';
import { sandbox } from '../backup/e2e-helpers.js';
import { LocalTransport } from '../backup/local-transport.js';

const box = sandbox('otpbackup-services-');
after(() => box.cleanup());

function context(calls: { account: Account; opts: ConnectOptions }[], server: string): CliContextInit {
  return {
    stdout: { write: () => true },
    stderr: { write: () => true },
    stdin: Readable.from([]) as unknown as CliContextInit['stdin'],
    env: { ...box.env, SEED: 'JBSWY3DPEHPK3PXP' },
    clock: systemClock,
    cwd: box.dir,
    debug: false,
    verbose: 0,
    connect: async (account, opts) => {
      calls.push({ account, opts });
      const t = new LocalTransport(server);
      await t.connect();
      return t;
    },
  };
}

describe('CliContext services', () => {
  const src = join(box.dir, 'src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'hello\n');

  it('upload logs in through ctx.connect, never prompting', async () => {
    const server = join(box.dir, 'server-upload');
    mkdirSync(server);
    const calls: { account: Account; opts: ConnectOptions }[] = [];
    const code = await main(
      ['node', 'otpbackup', 'upload', src, '--to', 'ftp://me@127.0.0.1:2121/up', '--totp-secret-env', 'SEED'],
      context(calls, server),
    );
    assert.equal(code, 0);
    assert.equal(calls.length, 1);
    assert.deepEqual([calls[0]!.opts.prompt, calls[0]!.opts.command], ['never', 'upload']);
    assert.equal(calls[0]!.account.otp.secret, 'env:SEED');
    assert.equal(readFileSync(join(server, 'up', 'a.txt'), 'utf8'), 'hello\n');
  });

  it('run logs in through ctx.connect, on a terminal allowed to ask, with the config', async () => {
    const server = join(box.dir, 'server-run');
    mkdirSync(server);
    const config = join(box.dir, 'config.yaml');
    writeFileSync(
      config,
      `accounts:\n  nas:\n    protocol: sftp\n    host: 127.0.0.1\n    user: me\n    remoteDir: backup\n    otp:\n      secret: env:SEED\njobs:\n  docs:\n    account: nas\n    sources: [${src}]\n`,
    );
    const calls: { account: Account; opts: ConnectOptions }[] = [];
    const code = await main(
      ['node', 'otpbackup', 'run', '--job', 'docs', '--config', config],
      context(calls, server),
    );
    assert.equal(code, 0);
    assert.deepEqual(
      calls.map((c) => [c.account.name, c.opts.prompt, c.opts.config !== undefined]),
      [['nas', 'terminal', true]],
    );
    assert.equal(readFileSync(join(server, 'backup', 'docs', 'a.txt'), 'utf8'), 'hello\n');
  });
});
