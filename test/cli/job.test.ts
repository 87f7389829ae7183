// `otpbackup job ...` spawned as users run it (needs the build): jobs are written through the normal
// schema, bad input exits 2 naming the field and leaves the config unchanged.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { otpbackup, ROOT } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-job-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_STATE_HOME: join(home, 'state') };
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');
mkdirSync(join(home, 'cfg', 'otpbackup'), { recursive: true });
writeFileSync(
  configFile,
  `# my backups
accounts:
  nas: # the NAS in the cellar
    protocol: ftp
    host: 127.0.0.1
    user: bob
    password: env:NAS_PW
    otp:
      secret: env:NAS_SEED
`,
);
const run = (args: string[]) => otpbackup(args, { env });

describe('otpbackup job', () => {
  it('add writes a validated job with absolute sources, keeping comments', () => {
    const r = run([
      'job',
      'add',
      'docs',
      '--account',
      'nas',
      '--source',
      'src',
      '--source',
      '/etc/hostname',
      '--exclude',
      '*.tmp',
      '--exclude',
      'node_modules',
      '--include',
      '*.md',
      '--schedule',
      '30 2 * * *',
      '--timezone',
      'Europe/Berlin',
      '--mode',
      'versions',
      '--keep',
      '5',
      '--keep-days',
      '30',
      '--checksum',
      '--follow-symlinks',
      '--remote-dir',
      'documents',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /added job docs/);
    const text = readFileSync(configFile, 'utf8');
    assert.match(text, /# the NAS in the cellar/);
    const job = parse(text).jobs.docs;
    assert.deepEqual(job, {
      account: 'nas',
      sources: [join(ROOT, 'src'), '/etc/hostname'],
      include: ['*.md'],
      exclude: ['*.tmp', 'node_modules'],
      remoteDir: 'documents',
      schedule: '30 2 * * *',
      timezone: 'Europe/Berlin',
      symlinks: 'follow',
      mode: 'versions',
      checksum: true,
      retention: { keep: 5, days: 30 },
    });
  });

  it('add with defaults writes a minimal job; a second add of the same name is refused', () => {
    const r = run(['job', 'add', 'pics', '--account', 'nas', '--source', '/tmp', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.job.schedule, '@daily');
    assert.equal(out.job.remoteDir, 'pics');
    assert.deepEqual(parse(readFileSync(configFile, 'utf8')).jobs.pics, {
      account: 'nas',
      sources: ['/tmp'],
    });
    const again = run(['job', 'add', 'pics', '--account', 'nas', '--source', '/tmp']);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /job "pics" already exists/);
  });

  it('bad schedule, time zone, account or mode exit 2 naming the field and change nothing', () => {
    const before = readFileSync(configFile, 'utf8');
    const cases: [string[], RegExp][] = [
      [['--schedule', '61 * * * *'], /jobs\.bad\.schedule: invalid schedule "61 \* \* \* \*"/],
      [['--schedule', '* * *'], /jobs\.bad\.schedule: schedule "\* \* \*" has 3 fields/],
      [['--timezone', 'Mars/Olympus'], /jobs\.bad\.timezone: unknown time zone "Mars\/Olympus"/],
      [['--mode', 'sync'], /--mode: expected mirror or versions/],
      [['--keep', '0'], /--keep: expected a whole number/],
    ];
    for (const [extra, re] of cases) {
      const r = run(['job', 'add', 'bad', '--account', 'nas', '--source', '/tmp', ...extra]);
      assert.equal(r.status, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /hint:/);
    }
    const acct = run(['job', 'add', 'bad', '--account', 'nax', '--source', '/tmp']);
    assert.equal(acct.status, 2);
    assert.match(acct.stderr, /--account: no account "nax".*\n.*known accounts: nas/);
    const noSource = run(['job', 'add', 'bad', '--account', 'nas']);
    assert.equal(noSource.status, 2);
    assert.match(noSource.stderr, /--source/);
    assert.equal(readFileSync(configFile, 'utf8'), before);
  });

  it('list shows name, account, schedule and next due; --json too', () => {
    const r = run(['job', 'list']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^NAME\s+ACCOUNT\s+SCHEDULE\s+NEXT DUE\n/);
    assert.match(r.stdout, /docs\s+nas\s+30 2 \* \* \* \(Europe\/Berlin\)\s+now/);
    // A job that ran recently is next due at its next slot.
    const stateDir = join(home, 'state', 'otpbackup', 'jobs', 'pics');
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify({ lastRunMs: Date.now() - 1000 }));
    const j = JSON.parse(run(['job', 'list', '--json']).stdout);
    const pics = j.jobs.find((x: { name: string }) => x.name === 'pics');
    const next = Date.parse(pics.nextDue);
    assert.ok(next > Date.now() && next <= Date.now() + 86_400_000, pics.nextDue);
    assert.equal(j.jobs.find((x: { name: string }) => x.name === 'docs').nextDue, null);
  });

  it('show prints one job; an unknown job exits 2', () => {
    const r = run(['job', 'show', 'docs']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /remote dir: documents/);
    assert.match(r.stdout, /retention:\s+keep 5, 30 days/);
    const j = JSON.parse(run(['job', 'show', 'docs', '--json']).stdout);
    assert.equal(j.job.mode, 'versions');
    const missing = run(['job', 'show', 'nope']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no job "nope".*\n.*known jobs: docs, pics/);
  });

  it('remove needs --yes without a terminal, then removes only that job', () => {
    const refused = run(['job', 'remove', 'pics']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /pass --yes/);
    assert.ok(parse(readFileSync(configFile, 'utf8')).jobs.pics);
    const r = run(['job', 'remove', 'pics', '--yes']);
    assert.equal(r.status, 0, r.stderr);
    const cfg = parse(readFileSync(configFile, 'utf8'));
    assert.equal(cfg.jobs.pics, undefined);
    assert.ok(cfg.jobs.docs);
    assert.equal(run(['job', 'remove', 'pics', '--yes']).status, 2);
  });

  it('--help shows examples', () => {
    const r = run(['job', 'add', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Examples:[\s\S]*otpbackup job add photos --account nas/);
  });
});
