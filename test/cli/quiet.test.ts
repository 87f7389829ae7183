// -q/--quiet (#17 §5): the error that ends a command still reaches stderr (one line and its hint);
// nothing else does; -q with -v is refused.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cli, sandbox } from '../backup/e2e-helpers.js';
import { freePort } from '../servers/free-port.js';

const box = sandbox('otpbackup-quiet-');
after(() => box.cleanup());

describe('-q/--quiet', () => {
  test('a failing upload: the final error and its hint only, exit code unchanged', async () => {
    const f = join(box.dir, 'f');
    writeFileSync(f, 'x');
    const port = await freePort();
    const args = ['upload', f, '--to', `ftp://u@127.0.0.1:${port}/`, '--bwlimit', '1M'];
    const env = { ...box.env, OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXP' };
    const loud = await cli(['-vv', ...args], env);
    const quiet = await cli(['-q', ...args], env);
    assert.equal(quiet.status, loud.status);
    assert.equal(quiet.status, 1, quiet.stderr);
    const lines = quiet.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, /^otpbackup: .*connection refused/);
    assert.ok(
      lines.slice(1).every((l) => /^ {2}hint: /.test(l)),
      quiet.stderr,
    );
    assert.ok(loud.stderr.split('\n').length > lines.length, 'the loud run said more');
    assert.equal(quiet.stdout, '');
  });

  test('-q with -v: one usage line, exit 2', async () => {
    const r = await cli(['-q', '-v', 'status'], box.env);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /-q\/--quiet goes with neither -v nor --debug/);
  });
});
