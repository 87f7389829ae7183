// `otpbackup schedule ...` spawned as users run it (needs the build). The crontab program is a small
// shell script (OTPBACKUP_CRONTAB) keeping the table in a temp file, so no real crontab is touched.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cronLine, mergeCrontab, parseEvery } from '../../src/schedule/entries.js';
import { otpbackup, ROOT } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-schedule-'));
after(() => rmSync(home, { recursive: true, force: true }));
const table = join(home, 'crontab.txt');
const fake = join(home, 'fake-crontab');
writeFileSync(
  fake,
  `#!/bin/sh
case "$1" in
  -l) if [ -f "$FAKE_CRONTAB_FILE" ]; then cat "$FAKE_CRONTAB_FILE"; else echo "no crontab for tester" >&2; exit 1; fi ;;
  -) cat > "$FAKE_CRONTAB_FILE" ;;
  *) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
esac
`,
);
chmodSync(fake, 0o755);
const env = {
  HOME: home,
  XDG_CONFIG_HOME: join(home, 'cfg'),
  OTPBACKUP_CRONTAB: fake,
  FAKE_CRONTAB_FILE: table,
};
const run = (args: string[], extra: Record<string, string> = {}) =>
  otpbackup(args, { env: { ...env, ...extra } });
const bin = join(ROOT, 'bin', 'otpbackup');
const ours = (text: string) => text.split('\n').filter((l) => l.endsWith('# otpbackup'));

describe('schedule entries', () => {
  it('cron line runs every N minutes and quotes odd paths for sh and cron', () => {
    assert.equal(cronLine({ node: '/n', bin: '/b', every: 1 }), '* * * * * /n /b run # otpbackup');
    assert.equal(
      cronLine({ node: "/my node's", bin: '/b', every: 15, config: '/c/100%.yaml' }),
      `*/15 * * * * '/my node'\\''s' /b run --config /c/100\\%.yaml # otpbackup`,
    );
    assert.throws(() => parseEvery('0'), /--every: expected whole minutes from 1 to 59/);
    assert.throws(() => parseEvery('5m'), /--every/);
    assert.equal(parseEvery('59'), 59);
  });

  it('merge replaces only our line', () => {
    const other = 'MAILTO=me\n0 3 * * * /usr/bin/other\n';
    const once = mergeCrontab(other, 'L1 # otpbackup');
    assert.equal(once, `${other}L1 # otpbackup\n`);
    assert.equal(mergeCrontab(once, 'L2 # otpbackup'), `${other}L2 # otpbackup\n`);
    assert.equal(mergeCrontab(once, undefined), other);
    assert.equal(mergeCrontab('', undefined), '');
  });
});

describe('otpbackup schedule', () => {
  it('print shows the crontab line with the marker, default every minute', () => {
    const r = run(['schedule', 'print']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `* * * * * ${process.execPath} ${bin} run # otpbackup\n`);
    const five = run(['schedule', 'print', '--every', '5', '--json']);
    assert.equal(JSON.parse(five.stdout).crontab, `*/5 * * * * ${process.execPath} ${bin} run # otpbackup`);
    const bad = run(['schedule', 'print', '--every', '90']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--every/);
  });

  it('install into an empty ("no crontab") table, twice, leaves one line; other lines survive', () => {
    assert.equal(existsSync(table), false);
    const r = run(['schedule', 'install', '--every', '10']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^installed in your crontab/);
    assert.deepEqual(ours(readFileSync(table, 'utf8')), [
      `*/10 * * * * ${process.execPath} ${bin} run # otpbackup`,
    ]);

    writeFileSync(table, `# mine\n0 4 * * * /usr/bin/true\n${readFileSync(table, 'utf8')}`);
    const again = run(['schedule', 'install', '--every', '10']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^already installed/);
    const changed = run(['schedule', 'install', '--every', '5']);
    assert.equal(changed.status, 0, changed.stderr);
    const text = readFileSync(table, 'utf8');
    assert.deepEqual(ours(text), [`*/5 * * * * ${process.execPath} ${bin} run # otpbackup`]);
    assert.match(text, /^# mine\n0 4 \* \* \* \/usr\/bin\/true\n/);
  });

  it('remove takes out only our line, and is fine when there is none', () => {
    const r = run(['schedule', 'remove']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(table, 'utf8'), '# mine\n0 4 * * * /usr/bin/true\n');
    const again = run(['schedule', 'remove']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /no otpbackup line/);
  });

  it('a failing or missing crontab program exits 1 with a hint', () => {
    const failing = join(home, 'failing-crontab');
    writeFileSync(failing, '#!/bin/sh\necho "crontab: you are not allowed" >&2\nexit 1\n');
    chmodSync(failing, 0o755);
    const r = run(['schedule', 'install'], { OTPBACKUP_CRONTAB: failing });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /crontab -l failed: crontab: you are not allowed\n.*hint:/);
    const missing = run(['schedule', 'install'], { OTPBACKUP_CRONTAB: join(home, 'nope') });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot run .*nope: ENOENT\n.*--systemd/);
  });

  it('--systemd writes, prints and removes a user service + timer under XDG_CONFIG_HOME', () => {
    const dir = join(home, 'cfg', 'systemd', 'user');
    const printed = run(['schedule', 'print', '--systemd', '--every', '15']);
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, /OnCalendar=\*:0\/15/);
    assert.equal(existsSync(join(dir, 'otpbackup.timer')), false);

    const r = run(['schedule', 'install', '--systemd', '--every', '15']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /systemctl --user enable --now otpbackup\.timer/);
    const service = readFileSync(join(dir, 'otpbackup.service'), 'utf8');
    const timer = readFileSync(join(dir, 'otpbackup.timer'), 'utf8');
    assert.match(service, /^Type=oneshot$/m);
    assert.ok(service.includes(`\nExecStart=${process.execPath} ${bin} run\n`), service);
    assert.match(timer, /^OnCalendar=\*:0\/15$/m);
    assert.match(timer, /^Persistent=true$/m);
    assert.match(timer, /^WantedBy=timers\.target$/m);
    assert.equal(run(['schedule', 'install', '--systemd', '--every', '15']).status, 0);

    const rm = run(['schedule', 'remove', '--systemd']);
    assert.equal(rm.status, 0, rm.stderr);
    assert.match(rm.stdout, /systemctl --user disable --now otpbackup\.timer/);
    assert.equal(existsSync(join(dir, 'otpbackup.service')), false);
    assert.equal(existsSync(join(dir, 'otpbackup.timer')), false);
    // The crontab was not touched by the systemd variant.
    assert.equal(readFileSync(table, 'utf8'), '# mine\n0 4 * * * /usr/bin/true\n');
  });
});
