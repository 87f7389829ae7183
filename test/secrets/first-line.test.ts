// Programs that print a secret (#14.6): the timeout stops the whole process group and the wait,
// whatever its children do; only the first line is read, capped; all three users share the helper.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isOtpBackupError } from '../../src/errors.js';
import { CmdStore, runSecretCommand } from '../../src/secrets/cmd.js';
import { MAX_LINE_BYTES, runFirstLine } from '../../src/secrets/first-line.js';
import { VaultStore } from '../../src/secrets/vault.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

/** Fails the test instead of hanging it when `p` does not settle within `ms` (a hang is the bug). */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether pid is a live process (a zombie waiting to be reaped counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

async function waitDead(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  return !alive(pid);
}

describe('runFirstLine', () => {
  it('the timeout kills the whole process group: a grandchild sleeping 40 s is gone, the wait ends', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const t = Date.now();
    await assert.rejects(
      within(
        15_000,
        runSecretCommand(['sh', '-c', `sleep 40 & echo $! > ${pidFile}; wait`], { timeoutMs: 500 }),
      ),
      /did not finish within 0.5 s/,
    );
    assert.ok(Date.now() - t < 500 + 5000, `took ${Date.now() - t} ms`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(await waitDead(pid), `the grandchild ${pid} was killed with its group`);
  });

  it('a grandchild that keeps stdout open does not hold the run once the program has exited', async () => {
    const pidFile = join(dir, 'daemon.pid');
    // The program prints its secret and exits; the child it left behind holds the pipe open forever.
    const line = await within(
      15_000,
      runSecretCommand(['sh', '-c', `sleep 1000 & echo $! > ${pidFile}; echo from-parent`], {
        timeoutMs: 10_000,
      }),
    );
    assert.equal(line, 'from-parent');
    assert.ok(await waitDead(Number(readFileSync(pidFile, 'utf8'))), 'what it left in its group is stopped');
    // Without a line break, it is what was printed once the program exited.
    assert.equal(
      await within(
        15_000,
        runSecretCommand(['sh', '-c', `sleep 1000 & echo $! > ${pidFile}; printf no-newline`], {
          timeoutMs: 10_000,
        }),
      ),
      'no-newline',
    );
    assert.ok(await waitDead(Number(readFileSync(pidFile, 'utf8'))));
  });

  it('reads only the first line: `yes` is stopped after 64 KiB and its line taken, memory stays flat', async () => {
    const rss = process.memoryUsage().rss;
    const cpu = process.cpuUsage();
    assert.equal(
      await within(15_000, runSecretCommand(['yes', 'the-secret'], { timeoutMs: 10_000 })),
      'the-secret',
    );
    const used = process.cpuUsage(cpu);
    assert.ok(process.memoryUsage().rss - rss < 64 * 2 ** 20, 'no output accumulated');
    // Work budget: we read a few KB, not gigabytes until the timeout (CPU, not wall time).
    assert.ok(used.user + used.system < 2_000_000, `cpu ${used.user + used.system} µs`);
  });

  it('output without a line break is capped: 600 MB of NULs is an error, not a crash', async () => {
    await assert.rejects(
      within(15_000, runSecretCommand(['head', '-c', '600000000', '/dev/zero'], { timeoutMs: 10_000 })),
      (e) => {
        assert.ok(isOtpBackupError(e));
        assert.equal(e.code, 'secret');
        assert.match(e.message, new RegExp(`printed more than ${MAX_LINE_BYTES} bytes without a line break`));
        return true;
      },
    );
    // A line of exactly the cap is still a line.
    const exact = 'x'.repeat(MAX_LINE_BYTES);
    assert.equal(
      await runFirstLine([process.execPath, '-e', `process.stdout.write(${JSON.stringify(`${exact}\n`)})`], {
        timeoutMs: 10_000,
        what: 't',
      }),
      exact,
    );
  });

  it('a failure after the first line is still a failure; CRLF and a missing line break are handled', async () => {
    await assert.rejects(
      runSecretCommand(['sh', '-c', 'echo leaked-line; exit 3']),
      /failed \(exit code 3\)/,
    );
    assert.equal(await runSecretCommand(['sh', '-c', "printf 'crlf-secret\\r\\nnext\\r\\n'"]), 'crlf-secret');
    assert.equal(await runSecretCommand(['printf', '%s', 'unterminated']), 'unterminated');
    assert.equal(await runSecretCommand(['true']), '');
  });

  it('an abort kills the group at once', async () => {
    const ac = new AbortController();
    const p = runFirstLine(['sleep', '40'], { timeoutMs: 30_000, what: 't', signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 100);
    await assert.rejects(within(10_000, p), /stop/);
  });

  it('cmd: and vault.passphraseCommand go through the same bounds', async () => {
    assert.equal(await within(15_000, new CmdStore(process.env).get('yes cmd-secret-1')), 'cmd-secret-1');
    const vault = new VaultStore({
      path: join(dir, 'v.enc'),
      env: {},
      passphraseCommand: ['yes', 'vault-passphrase-1'],
      kdf: { N: 1024, r: 8, p: 1 },
    });
    await within(60_000, vault.set('k', 'value-1'));
    assert.equal(await vault.get('k'), 'value-1');
    const zero = new VaultStore({
      path: join(dir, 'v2.enc'),
      env: {},
      passphraseCommand: ['head', '-c', '600000000', '/dev/zero'],
    });
    await assert.rejects(
      within(15_000, zero.set('k', 'v')),
      /vault passphrase command head printed more than/,
    );
  });
});
