// `otpbackup job edit NAME` (#17 §5) spawned as users run it: only the flags given change, comments
// and hand-written keys (hooks, notify, other jobs) survive, booleans can be turned off, and a bad
// value exits 2 naming the flag and the fix with the file untouched.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { otpbackup } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-jobedit-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_STATE_HOME: join(home, 'state') };
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');
mkdirSync(join(home, 'cfg', 'otpbackup'), { recursive: true });
const ORIGINAL = `# my backups
accounts:
  nas: # the NAS in the cellar
    protocol: ftp
    host: 127.0.0.1
    user: bob
    otp:
      secret: env:NAS_SEED
  offsite:
    protocol: sftp
    host: 127.0.0.1
    user: bob
    otp:
      secret: env:OFF_SEED
jobs:
  # nightly, before the NAS sleeps
  photos:
    account: nas
    sources: [/etc]
    schedule: "30 2 * * *" # at 02:30
    delete: true
    hooks:
      before: [/bin/true, --quiet]
    notify:
      url: env:HC_URL
  other:
    account: nas
    sources: [/tmp]
`;
writeFileSync(configFile, ORIGINAL);
const run = (args: string[]) => otpbackup(args, { env });

describe('otpbackup job edit', () => {
  it('changes what the flags say and nothing else; comments stay', () => {
    const r = run([
      'job',
      'edit',
      'photos',
      '--schedule',
      '0 3 * * *',
      '--no-delete',
      '--bwlimit',
      '2M',
      '--account',
      'offsite',
      '--exclude',
      '*.raw',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /changed job photos in /);
    const text = readFileSync(configFile, 'utf8');
    for (const c of [
      '# my backups',
      '# the NAS in the cellar',
      '# nightly, before the NAS sleeps',
      '# at 02:30',
    ])
      assert.ok(text.includes(c), `comment kept: ${c}\n${text}`);
    const y = parse(text);
    assert.deepEqual(y.jobs.photos, {
      account: 'offsite',
      sources: ['/etc'],
      exclude: ['*.raw'],
      schedule: '0 3 * * *',
      delete: false,
      hooks: { before: ['/bin/true', '--quiet'] },
      notify: { url: 'env:HC_URL' },
      bwlimit: '2M',
    });
    assert.deepEqual(y.jobs.other, { account: 'nas', sources: ['/tmp'] });
  });

  it('refuses a bad value with the flag and the fix, writing nothing', () => {
    const before = readFileSync(configFile, 'utf8');
    for (const [args, msg] of [
      [['--bwlimit', 'fast'], /--bwlimit "fast" is not a rate/],
      [['--mode', 'copy'], /--mode: expected mirror or versions, got "copy"/],
      [['--account', 'nope'], /--account: no account "nope"/],
      [['--schedule', 'every day'], /jobs\.photos\.schedule/],
      [['--keep', '0'], /--keep: expected a whole number ≥ 1/],
      [['--source', '/no/such/dir'], /--source: \/no\/such\/dir does not exist/],
    ] as const) {
      const r = run(['job', 'edit', 'photos', ...args]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
      assert.match(r.stderr, /hint: |expected|does not exist/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.equal(readFileSync(configFile, 'utf8'), before, 'the file is untouched');
  });

  it('an unknown job names the known ones', () => {
    const r = run(['job', 'edit', 'phtos', '--delete']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no job "phtos"/);
    assert.match(r.stderr, /known jobs: photos, other/);
  });
});
