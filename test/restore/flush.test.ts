// flushLocal(): the one fsync pass a restore makes over what it restored, instead of one fsync per
// file inside get(). Real files in a temp dir.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { OtpBackupError } from '../../src/errors.js';
import { flushLocal } from '../../src/transport/local-file.js';

const dir = mkdtempSync(join(tmpdir(), 'otpbackup-flush-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('flushes files in several directories, each once; a file gone meanwhile is not an error', async () => {
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  const files = Array.from({ length: 20 }, (_, i) => join(dir, i % 2 ? 'a' : 'a/b', `f${i}`));
  for (const f of files) writeFileSync(f, 'x');
  rmSync(files[3]!);
  await flushLocal([...files, files[0]!]);
  await flushLocal([]);
});

test('a path that cannot be opened is a local error naming it', async () => {
  writeFileSync(join(dir, 'plain'), 'x');
  const bad = join(dir, 'plain', 'below-a-file');
  const e = await flushLocal([bad]).catch((x: unknown) => x);
  assert.ok(e instanceof OtpBackupError, String(e));
  assert.equal(e.code, 'local');
  assert.ok(e.message.includes(bad), e.message);
});
