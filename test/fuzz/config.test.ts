// Fuzzes config.yaml through the real load path (YAML parse + schema validation): every input either
// loads, or is refused with ONE OtpBackupError('config') whose one-line message starts with the
// file's path. Any other exception type, a multi-line message, or a slow case is a bug.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { NAME_RE } from '../../src/config/schema.js';
import { OtpBackupError } from '../../src/errors.js';
import { parseTemplate } from '../../src/otp/index.js';
import { validateSchedule } from '../../src/schedule/due.js';
import { fuzzConfig } from './config-gen.js';
import { caseCount, expectOneLine, fuzz, show } from './gen.js';

const N = caseCount();
const tmp = mkdtempSync(join(tmpdir(), 'otpbackup-fuzz-config-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
// A library warning would reach the user's stderr as a multi-line message.
const warnings: string[] = [];
process.on('warning', (w) => warnings.push(w.message));

/** What a loaded config promises its users; a violation means validation let something through. */
function checkLoaded(cfg: ReturnType<typeof parseConfig>): void {
  for (const [name, a] of Object.entries(cfg.accounts)) {
    assert.match(name, NAME_RE);
    assert.ok(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535, `port ${a.port}`);
    assert.equal(typeof a.host, 'string');
    assert.equal(typeof a.user, 'string');
    parseTemplate(a.template);
    assert.ok([6, 7, 8, 9, 10].includes(a.otp.digits));
    assert.ok(a.otp.period >= 1 && a.otp.period <= 3600);
    for (const p of a.prompts ?? []) {
      new RegExp(p.pattern, 'i');
      parseTemplate(p.answer);
    }
  }
  for (const [name, j] of Object.entries(cfg.jobs)) {
    assert.match(name, NAME_RE);
    assert.ok(Object.hasOwn(cfg.accounts, j.account) || j.account !== '', `job ${name} has no account`);
    assert.ok(j.sources.length > 0);
    assert.ok(j.sources.every((s) => typeof s === 'string'));
    validateSchedule(j.schedule, j.timezone);
  }
}

describe('fuzz: config.yaml', () => {
  it(`parse + validate (${N} cases), every 100th through loadConfig from a file`, async () => {
    const file = join(tmp, 'config.yaml');
    await fuzz(
      'config',
      N,
      async (r, i) => {
        const text = fuzzConfig(r);
        try {
          let cfg: ReturnType<typeof parseConfig>;
          if (i % 100 === 0) {
            writeFileSync(file, text);
            cfg = await loadConfig({}, file);
          } else {
            cfg = parseConfig(text, '/etc/otpbackup/config.yaml');
          }
          checkLoaded(cfg);
          return 'ok';
        } catch (e) {
          if (e instanceof assert.AssertionError) throw new Error(`${e.message} for ${show(text)}`);
          try {
            expectOneLine(e, OtpBackupError, ['config']);
          } catch (err) {
            throw new Error(`${(err as Error).message} for ${show(text)}`);
          }
          const where = i % 100 === 0 ? file : '/etc/otpbackup/config.yaml';
          assert.ok(
            (e as Error).message.startsWith(`${where}: `),
            `message names no path: ${(e as Error).message}`,
          );
          return 'refused';
        }
      },
      1000, // CPU ms; 200 kB of "{}{}" took 5.6 s until the YAML error cap (test/config/fuzz-regressions)
    );
    assert.deepEqual(warnings, [], 'process warnings were emitted');
  });
});
