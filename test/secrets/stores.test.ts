// env, file and cmd stores: conformance for get, plus each one's own rules.
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isOtpBackupError } from '../../src/errors.js';
import { CmdStore } from '../../src/secrets/cmd.js';
import { EnvStore } from '../../src/secrets/env.js';
import { FileStore } from '../../src/secrets/file.js';
import { tempDir } from './helpers.js';
import { secretStoreSuite } from './suite.js';

const dir = tempDir();
let n = 0;

secretStoreSuite('env', async () => {
  const env: NodeJS.ProcessEnv = {};
  return {
    store: new EnvStore(env),
    seed: async (name, value) => {
      const key = `OTPB_TEST_${name.replace(/\W/g, '_').toUpperCase()}`;
      env[key] = value;
      return key;
    },
    missing: () => 'OTPB_TEST_NOT_SET',
  };
});

secretStoreSuite('file', async () => {
  const env = { HOME: dir };
  return {
    store: new FileStore(env),
    seed: async (name, value) => {
      const p = join(dir, `${name}-${n++}.secret`);
      writeFileSync(p, `${value}\n`, { mode: 0o600 });
      // Through ~ so home expansion is covered as well.
      return `~/${p.slice(dir.length + 1)}`;
    },
    missing: () => join(dir, 'no-such-file'),
  };
});

secretStoreSuite('cmd', async () => {
  return {
    store: new CmdStore(process.env),
    seed: async (name, value) => {
      const p = join(dir, `${name}-${n++}.cmd-secret`);
      writeFileSync(p, `${value}\nsecond line is ignored\n`, { mode: 0o600 });
      return `cat '${p}'`;
    },
    missing: () => 'true',
  };
});

describe('file store rules', () => {
  it('refuses a file readable by group or others, naming it and the fix', async () => {
    const p = join(dir, 'open.secret');
    writeFileSync(p, 'hunter2-open\n');
    chmodSync(p, 0o644);
    await assert.rejects(new FileStore({}).get(p), (e) => {
      assert.ok(isOtpBackupError(e));
      assert.equal(e.code, 'secret');
      assert.match(e.message, /group or others \(mode 644\)/);
      assert.match(e.hint ?? '', /chmod 600/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    chmodSync(p, 0o640);
    await assert.rejects(new FileStore({}).get(p), /group or others/);
    chmodSync(p, 0o600);
    assert.equal(await new FileStore({}).get(p), 'hunter2-open');
  });
});

describe('cmd store rules', () => {
  it('runs without a shell: metacharacters are plain arguments', async () => {
    const store = new CmdStore(process.env);
    assert.equal(await store.get('echo "a;b" $HOME `x` |y'), 'a;b $HOME `x` |y');
  });

  it('a failing command is an error naming the program, not its output or stderr', async () => {
    const script = join(dir, 'fail.sh');
    writeFileSync(script, '#!/bin/sh\necho leaked-stdout-secret\necho leaked-stderr-secret >&2\nexit 3\n', {
      mode: 0o700,
    });
    await assert.rejects(new CmdStore(process.env).get(script), (e) => {
      assert.ok(isOtpBackupError(e));
      assert.equal(e.code, 'secret');
      assert.match(e.message, /fail\.sh failed \(exit code 3\)/);
      assert.doesNotMatch(`${e.message} ${e.hint}`, /leaked/);
      return true;
    });
  });

  it('a missing program is a clear error', async () => {
    await assert.rejects(
      new CmdStore(process.env).get('otpbackup-no-such-program arg'),
      /not found: otpbackup-no-such/,
    );
  });

  it('times out a command that hangs (timeout is configurable in runSecretCommand)', async () => {
    const { runSecretCommand } = await import('../../src/secrets/cmd.js');
    const t = Date.now();
    await assert.rejects(
      runSecretCommand(['sleep', '30'], { timeoutMs: 300 }),
      /did not finish within 0.3 s/,
    );
    assert.ok(Date.now() - t < 5000);
  });

  it('an unterminated quote is a config error', async () => {
    await assert.rejects(new CmdStore(process.env).get('echo "oops'), /unterminated double quote/);
  });
});
