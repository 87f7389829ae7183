// The README's first set-up command runs this demo; CI runs it too, so it stays true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

test('npm run demo: the real run path uploads the sample tree through an OTP login', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/demo/demo.ts'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const status = await new Promise<number | null>((r) => child.on('close', r));
  assert.equal(status, 0, out);
  assert.match(out, /\/backup\/README\.txt {2}\(39 bytes\)/);
  assert.match(out, /\/backup\/reports\/2026\/q3\.csv/);
  assert.doesNotMatch(out, /scratch\.tmp/, 'excluded file must not land');
  assert.match(out, /logins accepted: 1, refused: 0/);
  assert.doesNotMatch(out, /Error:|\n\s+at /, 'no stack trace');
});
