// The README's first set-up command runs this demo; CI runs it too, so it stays true.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';

const root = new URL('../..', import.meta.url).pathname;

test('npm run demo: the real CLI path uploads the sample tree through an OTP login, then ends by itself', async () => {
  // test/open-handles.ts reports what would keep the process alive once the demo is done (a
  // listening passive port, a 30 s timer): counted, so a busy machine cannot make this fail.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './test/open-handles.ts', 'test/demo/demo.ts'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  // A bound on the whole, far above the demo's work, so a regression fails rather than hangs.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 120_000);
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const status = await new Promise<number | null>((r) => child.on('close', r));
  clearTimeout(watchdog);
  assert.equal(status, 0, out);
  assert.doesNotMatch(out, /open handles:/, 'nothing keeps the demo alive after its last line');
  // The commands it shows are the real CLI, quoted so they can be pasted into a shell.
  assert.match(out, /^\$ otpbackup account add demo .* --template '\$\{PASSWORD\}\$\{TOTP\}' /m);
  assert.match(out, /^\$ otpbackup job add documents --account demo --source \S+ --exclude '\*\.tmp' /m);
  assert.match(out, /^\$ otpbackup run -v$/m);
  assert.match(out, /\/backup\/README\.txt {2}\(39 bytes\)/);
  assert.match(out, /\/backup\/reports\/2026\/q3\.csv/);
  assert.doesNotMatch(out, /scratch\.tmp/, 'excluded file must not land');
  assert.match(out, /logins accepted: 1, refused: 0/);
  assert.doesNotMatch(out, /Error:|\n\s+at /, 'no stack trace');
});
