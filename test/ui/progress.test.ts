// The progress line: drawn with \r on an interactive stream only, with files, bytes, rate and ETA,
// throttled, and erased before other output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CliContext, defaultContext, isInteractive } from '../../src/cli/context.js';
import { formatDuration, ProgressLine } from '../../src/ui/progress.js';
import { TextReporter } from '../../src/ui/text.js';

class FakeTty {
  isTTY = true;
  chunks: string[] = [];
  write(s: string) {
    this.chunks.push(s);
    return true;
  }
  get text() {
    return this.chunks.join('');
  }
}

test('files, bytes, rate and ETA on one redrawn line', () => {
  let now = 1_000_000;
  const err = new FakeTty();
  const out = new FakeTty();
  const r = new TextReporter({ stdout: out, stderr: err, verbose: 0, progress: true, now: () => now });
  r.plan({ job: 'docs', upload: 10, uploadBytes: 10 * 1024 * 1024, delete: 0 });
  now += 2000;
  r.progress('docs', 2 * 1024 * 1024, 2);
  assert.equal(err.chunks.length, 1);
  const line = err.chunks[0]!;
  assert.ok(line.startsWith('\r\x1b[2K'), 'redrawn in place');
  assert.ok(!line.includes('\n'), 'one line');
  assert.match(line, /docs: 2\/10 files, 2\.0 MiB of 10\.0 MiB, 1\.0 MiB\/s, ETA 8s/);

  now += 50;
  r.progress('docs', 3 * 1024 * 1024, 3);
  assert.equal(err.chunks.length, 1, 'throttled to one draw per 100 ms');
  now += 100;
  r.progress('docs', 3 * 1024 * 1024, 3);
  assert.equal(err.chunks.length, 2);

  r.fileFailed('docs', { path: 'x', reason: 'denied' });
  assert.ok(err.text.includes('\r\x1b[2Kotpbackup: job docs: x: denied\n'), 'line erased before a message');
  r.done();
  assert.equal(out.text, '', 'nothing on stdout when not verbose');
});

test('no progress line when progress is off', () => {
  const err = new FakeTty();
  const r = new TextReporter({ stdout: new FakeTty(), stderr: err, verbose: 0, progress: false });
  r.plan({ job: 'docs', upload: 1, uploadBytes: 5, delete: 0 });
  r.progress('docs', 5, 1);
  r.done();
  assert.equal(err.text, '');
});

test('progress only on a TTY with CI unset', () => {
  const ctx = (isTTY: boolean, env: NodeJS.ProcessEnv): CliContext => ({
    ...defaultContext(),
    stderr: { isTTY, write: () => true },
    env,
  });
  assert.equal(isInteractive(ctx(true, {})), true);
  assert.equal(isInteractive(ctx(false, {})), false);
  assert.equal(isInteractive(ctx(true, { CI: 'true' })), false);
  assert.equal(isInteractive(ctx(true, { TERM: 'dumb' })), false);
});

test('ETA formatting and no rate before time has passed', () => {
  assert.equal(formatDuration(65_000), '1m05s');
  assert.equal(formatDuration(3_700_000), '1h01m');
  const p = new ProgressLine(new FakeTty(), () => 5);
  p.start('j');
  assert.equal(p.render('j', 0, 0, { files: 3, bytes: 100 }), 'j: 0/3 files, 0 B of 100 B');
});
