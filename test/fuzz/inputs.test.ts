// Fuzzes the other user inputs: cron expressions with time zones, SSH prompt rules (REGEX=TEMPLATE,
// against server prompts), `upload` target URLs, and file names through the scanner and the
// remote-path mapping, where NO remote path may leave the job's remote directory.
import assert from 'node:assert/strict';
import type { BigIntStats, Dirent } from 'node:fs';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { parsePromptRule } from '../../src/backup/upload.js';
import type { Account } from '../../src/config/types.js';
import { parseTargetUrl } from '../../src/config/url.js';
import { OtpBackupError } from '../../src/errors.js';
import { scan } from '../../src/scan/scan.js';
import type { WalkFs } from '../../src/scan/walk.js';
import { isDue, nextRun, validateSchedule } from '../../src/schedule/due.js';
import { normalize, tempPathFor, validateRemotePath } from '../../src/transport/remote-path.js';
import { PromptResponder, riskyPattern } from '../../src/transport/sftp/prompts.js';
import { caseCount, EDGE_NUMBERS, expectOneLine, fuzz, fuzzFrom, type Rng, show } from './gen.js';

const N = caseCount();

const CRONS = [
  '30 2 * * *',
  '*/15 * * * *',
  '0 0 1 1 *',
  '0 30 2 * * 1-5',
  '@daily',
  '@hourly',
  '5 4 * * sun',
  '0 0 29 2 *',
];
const CRON_DICT = [
  '*',
  '/',
  ',',
  '-',
  '?',
  'L',
  'W',
  '#',
  '@',
  ' ',
  '60',
  '24',
  '32',
  '13',
  '7',
  'mon',
  'jan',
  ...EDGE_NUMBERS,
];
const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
  'Etc/GMT+14',
];

describe('fuzz: other inputs', () => {
  it(`cron expressions and time zones (${N} cases)`, async () => {
    await fuzz(
      'cron',
      N,
      (r) => {
        const expr = fuzzFrom(r, CRONS, CRON_DICT);
        const tz = r.bool(0.3)
          ? undefined
          : r.bool(0.7)
            ? r.pick(ZONES)
            : fuzzFrom(r, ZONES, ['/', '+', '_', '-']);
        try {
          validateSchedule(expr, tz, { field: 'jobs.x.schedule' });
        } catch (e) {
          expectOneLine(e, OtpBackupError, ['config']);
          assert.match((e as Error).message, /^jobs\.x\.(schedule|timezone): /);
          return 'refused';
        }
        // A valid schedule works for any time the scheduler may pass, including the epoch edges.
        const now = r.pick([
          0,
          Date.UTC(2026, 2, 29, 1, 30),
          Date.UTC(2026, 9, 25, 1, 30),
          8.64e15 - 1e12,
          Date.now(),
        ]);
        const next = nextRun(expr, now, tz);
        assert.ok(Number.isFinite(next) && next > now, `next run ${next} not after ${now} for ${show(expr)}`);
        assert.equal(typeof isDue(expr, now - 86_400_000, now, tz), 'boolean');
        return 'ok';
      },
      // cron-parser spends ~0.5 s failing before the Lord Howe DST retry in nextRun; bounded.
      3000,
    );
  });

  it(`prompt rules against server prompts (${N} cases)`, async () => {
    const PATTERNS = [
      'verification code',
      '^password:',
      'pass(word|phrase)?\\s*:',
      'token|otp',
      '(a+)+$',
      '[',
      'code$',
    ];
    const PROMPTS = [
      'Verification code: ',
      'Password: ',
      'Password & verification code:',
      'One-time password:',
      'Login:',
    ];
    const RE_DICT = [
      '(',
      ')',
      '+',
      '*',
      '?',
      '{1,}',
      '\\',
      '|',
      '^',
      '$',
      '.*',
      '(?=',
      '\\1',
      '[^',
      '(a+)+',
      '(.*)*',
    ];
    await fuzz(
      'prompts',
      N,
      (r) => {
        const pattern = fuzzFrom(r, PATTERNS, RE_DICT);
        const answer = fuzzFrom(r, ['${TOTP}', '${PASSWORD}${TOTP}', '${PASSWORD}'], ['${', '}', '$']);
        // The rule must first pass `upload --prompt REGEX=TEMPLATE` parsing (config validation
        // applies the same checks: RegExp, riskyPattern, parseTemplate).
        let rule: ReturnType<typeof parsePromptRule>;
        try {
          rule = parsePromptRule(`${pattern}=${answer}`);
          assert.equal(riskyPattern(rule.pattern), undefined);
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          expectOneLine(e, OtpBackupError, ['usage', 'config']);
          return 'refused-when-parsed';
        }
        const account = {
          name: 'acct',
          template: '${PASSWORD}${TOTP}',
          prompts: [rule],
        } as unknown as Account;
        const responder = new PromptResponder(account, {
          user: 'u',
          password: 'pw',
          code: '123456',
          vars: { PASSWORD: 'pw', TOTP: '123456', OTP: '123456', USER: 'u' },
        });
        const prompt = r.bool(0.2) ? `${'a'.repeat(r.pick([30, 1000, 100_000]))}!` : fuzzFrom(r, PROMPTS);
        try {
          const [out] = responder.answer([{ prompt }]);
          assert.equal(typeof out, 'string');
          assert.doesNotMatch(out!, /[\r\n\0]/);
          return 'answered';
        } catch (e) {
          expectOneLine(e, OtpBackupError, ['config', 'auth', 'secret']);
          return 'unanswered';
        }
      },
      1500,
    );
  });

  it(`upload target URLs (${N} cases)`, async () => {
    const URLS = [
      'sftp://alice@host:22/backups',
      'ftp://u@127.0.0.1/a/b',
      'ftpes://u@[::1]:2121/',
      'ftps://u%40x@h/%2e%2e/x',
    ];
    const URL_DICT = ['://', '@', ':', '/', '%', '%0a', '%00', '%2F', '[', ']', '?', '#', 'u:p@', '..', '\\'];
    await fuzz('url', N, (r) => {
      const text = fuzzFrom(r, URLS, URL_DICT);
      try {
        const t = parseTargetUrl(text);
        assert.ok(Number.isInteger(t.port) && t.port >= 0 && t.port <= 65535, `port ${t.port}`);
        // sftp:// may leave the user to ~/.ssh/config (#17.3); every other scheme needs one.
        assert.ok((t.user.length > 0 || t.protocol === 'sftp') && t.host.length > 0);
        assert.doesNotMatch(`${t.user}${t.remoteDir}`, /[\r\n\0]/);
        validateRemotePath(t.remoteDir);
        return 'ok';
      } catch (e) {
        expectOneLine(e, OtpBackupError, ['usage']);
        return 'refused';
      }
    });
  });

  it(`file names through the scanner and remote paths (${N} cases)`, async () => {
    const NAME_DICT = [
      '..',
      '.',
      '/',
      '\\',
      '..\\',
      '\\..',
      '-',
      '--',
      '-rf',
      ' ',
      '~',
      '*',
      '?',
      '%',
      '\r',
      '\n',
      '\0',
    ];
    const fileName = (r: Rng): string => {
      if (r.bool(0.05)) return 'x'.repeat(r.pick([255, 256, 1000, 5000]));
      const n = fuzzFrom(
        r,
        ['file.txt', 'photo 2024.jpg', 'résumé.pdf', '..\\..\\etc\\passwd', '-leading'],
        NAME_DICT,
      );
      // A directory entry never holds "/" and is never "", "." or "..".
      const name = n.replaceAll('/', r.pick(['\\', '_', '∕']));
      return name === '' || name === '.' || name === '..' ? `${name}x` : name;
    };
    const dirent = (name: string, dir: boolean) =>
      ({
        name,
        isDirectory: () => dir,
        isFile: () => !dir,
        isSymbolicLink: () => false,
        isFIFO: () => false,
        isSocket: () => false,
        isBlockDevice: () => false,
        isCharacterDevice: () => false,
      }) as unknown as Dirent;
    const st = (dir: boolean) =>
      ({
        isDirectory: () => dir,
        isFile: () => !dir,
        isSymbolicLink: () => false,
        size: 1n,
        mtimeNs: 1n,
        ctimeNs: 1n,
        ino: 1n,
        dev: 1n,
      }) as unknown as BigIntStats;
    await fuzz('names', N, async (r) => {
      // A small tree of fuzzed names: /src/<a>/<b>, /src/<c>
      const tree = new Map<string, { name: string; dir: boolean }[]>();
      const top = [
        { name: fileName(r), dir: true },
        { name: fileName(r), dir: false },
        { name: fileName(r), dir: false },
      ];
      tree.set('/src', top);
      tree.set(`/src/${top[0]!.name}`, [{ name: fileName(r), dir: false }]);
      const isDir = (p: string) => p === '/src' || tree.has(p);
      const fs: WalkFs = {
        readdir: (p) => (tree.get(p) ?? []).map((e) => dirent(e.name, e.dir)),
        lstat: (p) => st(isDir(p)),
        stat: (p) => st(isDir(p)),
      };
      const result = await scan(
        { name: 'job', sources: ['/src'], symlinks: 'skip', checksum: false },
        { get: () => undefined, keys: () => [] },
        { fs, cwd: '/' },
      );
      const root = r.pick(['/backups/job', 'job', '/', '.', 'a\\b/job']);
      let sent = 0;
      for (const f of result.added) {
        // The engine's mapping (engine.ts remoteOf), then the transports' own normalisation.
        const remote = posix.join(root, f.rel);
        let mapped: string;
        try {
          mapped = normalize(validateRemotePath(remote));
        } catch (e) {
          expectOneLine(e, OtpBackupError, ['usage']);
          assert.fail(`scanner passed a name the transport refuses: ${show(f.rel)}`);
        }
        const rel = posix.relative(normalize(root), mapped);
        assert.ok(
          rel !== '' && !rel.startsWith('../') && rel !== '..' && !posix.isAbsolute(rel),
          `${show(f.rel)} maps to ${show(mapped)}, outside ${root}`,
        );
        const tmp = tempPathFor(mapped, 1);
        assert.equal(posix.dirname(tmp), posix.dirname(mapped), 'temp name in another directory');
        sent++;
      }
      for (const p of result.problems) {
        assert.equal(p.kind, 'bad-name');
        assert.doesNotMatch(p.reason, /[\r\n]/);
      }
      return sent === 3 ? 'all-sent' : `some-refused`;
    });
  });
});

// Hand-picked names that must stay inside (also the regression cases for the backslash escape).
describe('file names: fixed escapes', () => {
  it('refuses ".." beside a backslash and keeps backslashes as characters', () => {
    for (const bad of ['/r/..\\..\\etc', '/r/a\\..', 'r/..\\x'])
      assert.throws(() => validateRemotePath(bad), OtpBackupError);
    assert.equal(normalize('/r/a\\b'), '/r/a\\b');
    assert.equal(normalize('/r/..\\x'), '/r/..\\x');
  });
});
