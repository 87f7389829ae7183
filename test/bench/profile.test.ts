// bench/profile.ts: a real V8 profile of a small busy script is read, its time lands in the right
// layers, and native time is charged to the script function that called it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { layerOf, summarise } from '../../bench/profile.js';

test('layers from script URLs', () => {
  assert.equal(layerOf('file:///x/node_modules/ssh2/lib/protocol/SFTP.js', 'push'), 'ssh2 sftp');
  assert.equal(layerOf('file:///x/node_modules/ssh2/lib/protocol/Protocol.js', 'f'), 'ssh2 protocol');
  assert.equal(layerOf('file:///x/node_modules/basic-ftp/dist/Client.js', 'f'), 'basic-ftp');
  assert.equal(layerOf('file:///x/dist/transport/sftp.js', 'putOnce'), 'otpbackup');
  assert.equal(layerOf('node:internal/crypto/cipher', 'update'), 'node:crypto/cipher');
  assert.equal(layerOf('', '(garbage collector)'), 'GC');
  assert.equal(layerOf('', '(idle)'), 'idle (waiting)');
});

test('a real profile: the busy function and its syscalls are found', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otpbackup-prof-'));
  try {
    const script = join(dir, 'busy.mjs');
    writeFileSync(
      script,
      `import { statSync } from 'node:fs';
function statMany() { for (let i = 0; i < 40000; i++) statSync('${script}'); }
statMany();
`,
    );
    execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, script]);
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    assert.equal(files.length, 1);
    const s = summarise(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))));
    assert.ok(s.wallMs > 0);
    const top = [...s.nativeCallers].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    // statSync's native part, charged to the script's own function (not to node:fs internals).
    assert.match(top, /← statMany .*busy\.mjs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
