// Regressions found by test/fuzz/config.test.ts: each input used to escape as a non-OtpBackupError.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { OtpBackupError } from '../../src/errors.js';
import { fuzzConfig } from '../fuzz/config-gen.js';
import { rngFor } from '../fuzz/gen.js';

function refused(text: string, message: RegExp): void {
  assert.throws(
    () => parseConfig(text, '/c.yaml'),
    (e) =>
      e instanceof OtpBackupError &&
      e.code === 'config' &&
      e.message.startsWith('/c.yaml: ') &&
      !/[\r\n]/.test(e.message) &&
      e.message.length < 5000 &&
      message.test(e.message),
  );
}

describe('config regressions (fuzz)', () => {
  it('an alias bomb is a config problem, not a ReferenceError', () => {
    let s = 'a0: &a0 [x, x]\n';
    for (let k = 1; k < 30; k++) s += `a${k}: &a${k} [*a${k - 1}, *a${k - 1}]\n`;
    refused(s, /YAML: .*alias/i);
  });
  it('deep nesting is a config problem, not a stack overflow (RangeError)', () => {
    refused(`a: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, /YAML syntax: /);
    // This one made the parser itself throw RangeError (fuzzer seed 1, case 9408; regenerated here
    // rather than stored: it is 160 kB). If the generator changes, find a new case with FUZZ_SEED.
    const text = fuzzConfig(rngFor('config', 9408, 1));
    refused(text, /YAML syntax: the document cannot be read \(nested too deeply\)/);
  });
  it('a self-referencing alias in a numeric field is reported, not a JSON TypeError', () => {
    const text = `accounts:\n  nas:\n    protocol: ftp\n    host: h\n    user: u\n    port: &p [*p]\n    otp: {secret: env:S}\n`;
    refused(text, /accounts\.nas\.port: expected 1–65535, got a list/);
  });
  it('a mapping used as a key emits no process warning (it would print multi-line on stderr)', async () => {
    const warnings: string[] = [];
    const on = (w: Error) => warnings.push(w.message);
    process.on('warning', on);
    try {
      refused('? {complex: key}\n: 1\n', /unknown key/);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', on);
    }
    assert.deepEqual(warnings, []);
  });
  it('refuses prompt patterns with nested repetition (catastrophic backtracking)', () => {
    const text = `accounts:\n  s:\n    protocol: sftp\n    host: h\n    user: u\n    otp: {secret: env:S}\n    prompts:\n      - {pattern: "(a+)+$", answer: "\${TOTP}"}\n`;
    refused(text, /prompts\[0\]\.pattern: repeats a group that itself repeats/);
  });
});
