// Regressions found by test/fuzz/inputs.test.ts: remote paths and prompt rules.
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { normalize, tempPathFor, validateRemotePath } from '../../src/transport/remote-path.js';
import { PromptResponder, safeMatch } from '../../src/transport/sftp/prompts.js';
import { cpuMsSync } from '../cpu.js';

describe('remote path regressions (fuzz)', () => {
  it('a local name "..\\..\\x" no longer maps outside the job directory', () => {
    const remote = posix.join('/backups/job', '..\\..\\x');
    // It used to normalise to /x: backslashes were turned into "/".
    assert.throws(() => validateRemotePath(remote), OtpBackupError);
    assert.equal(normalize('/backups/job/a\\b'), '/backups/job/a\\b');
  });
  it('temp names for very long names are cut in one pass (was quadratic)', () => {
    const { result: tmp, ms } = cpuMsSync(() => tempPathFor(`/r/${'é'.repeat(200_000)}`, 0));
    assert.ok(ms < 1000, `${Math.round(ms)} ms of CPU`);
    assert.ok(Buffer.byteLength(posix.basename(tmp)) < 255);
  });
});

describe('prompt rule regressions (fuzz)', () => {
  it('a catastrophic pattern against a long prompt ends in a config error, not a hang', () => {
    const account = {
      name: 'a',
      template: '${TOTP}',
      prompts: [{ pattern: '(a+)+$', answer: '${TOTP}' }],
    } as unknown as Account;
    const r = new PromptResponder(account, { user: 'u', code: '123456', vars: { TOTP: '123456' } });
    const start = process.cpuUsage();
    assert.throws(
      () => r.answer([{ prompt: `${'a'.repeat(40)}!` }]),
      (e) =>
        e instanceof OtpBackupError &&
        e.code === 'config' &&
        /accounts\.a\.prompts\[0\]\.pattern took over/.test(e.message),
    );
    // CPU, not wall time (test/cpu.ts): the regex runs until the matcher's own bound stops it.
    const used = process.cpuUsage(start);
    assert.ok((used.user + used.system) / 1000 < 5000);
    assert.equal(safeMatch(/code/i, 'Verification code: ', 'x'), true);
  });
});
