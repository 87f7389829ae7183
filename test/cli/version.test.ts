import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { otpbackup, ROOT } from './helpers.js';

describe('otpbackup --version / --help', () => {
  it('--version prints the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = otpbackup([flag]);
      assert.equal(r.status, 0);
      assert.equal(r.stdout.trim(), pkg.version);
    }
  });
  it('--help exits 0 and lists the commands', () => {
    const r = otpbackup(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Usage: otpbackup/);
    assert.match(r.stdout, /\bcode\b/);
    assert.match(r.stdout, /\btemplate\b/);
  });
  it('an unknown command or option exits 2', () => {
    assert.equal(otpbackup(['--no-such-flag']).status, 2);
    assert.equal(otpbackup(['no-such-command']).status, 2);
  });
});
