// `otpbackup schedule ...` spawned as users run it (needs the build). The crontab program is a small
// shell script (OTPBACKUP_CRONTAB) keeping the table in a temp file, so no real crontab is touched.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cronLine, mergeCrontab, parseEvery } from '../../src/schedule/entries.js';
import { VaultStore } from '../../src/secrets/vault.js';
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
// The tests' XDG_CONFIG_HOME is not the default, so every entry carries it for `run`.
const pre = `XDG_CONFIG_HOME=${join(home, 'cfg')} `;
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
    assert.equal(r.stdout, `* * * * * ${pre}${process.execPath} ${bin} run # otpbackup\n`);
    const five = run(['schedule', 'print', '--every', '5', '--json']);
    assert.equal(
      JSON.parse(five.stdout).crontab,
      `*/5 * * * * ${pre}${process.execPath} ${bin} run # otpbackup`,
    );
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
      `*/10 * * * * ${pre}${process.execPath} ${bin} run # otpbackup`,
    ]);

    writeFileSync(table, `# mine\n0 4 * * * /usr/bin/true\n${readFileSync(table, 'utf8')}`);
    const again = run(['schedule', 'install', '--every', '10']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^already installed/);
    const changed = run(['schedule', 'install', '--every', '5']);
    assert.equal(changed.status, 0, changed.stderr);
    const text = readFileSync(table, 'utf8');
    assert.deepEqual(ours(text), [`*/5 * * * * ${pre}${process.execPath} ${bin} run # otpbackup`]);
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
    assert.ok(service.includes(`\nEnvironment=XDG_CONFIG_HOME=${join(home, 'cfg')}\n`), service);
    assert.ok(
      service.includes(`\nEnvironmentFile=-${join(home, 'cfg', 'otpbackup', 'systemd.env')}\n`),
      service,
    );
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

describe('schedule: a scheduled run must get its secrets (no terminal, no shell exports)', () => {
  const cfgDir = join(home, 'sec-cfg');
  const configFile = join(cfgDir, 'config.yaml');
  const passFile = join(home, 'vault-pass');
  const PASSPHRASE = 'schedule-test-vault-passphrase';
  const env2 = { OTPBACKUP_CONFIG: configFile, OTPBACKUP_PASSPHRASE: PASSPHRASE };
  const yaml = (vault: string) => `version: 1
${vault}accounts:
  nas:
    protocol: ftp
    host: 127.0.0.1
    port: 2121
    user: backup
    template: '\${TOTP}'
    otp:
      secret: vault:nas/seed
jobs:
  docs:
    account: nas
    sources: [${home}]
    schedule: '0 2 * * *'
`;

  it('the README setup (vault, passphrase exported in the shell) is refused with the fix', async () => {
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(configFile, yaml(`vault:\n  path: ${join(cfgDir, 'vault.enc')}\n`));
    const store = new VaultStore({
      path: join(cfgDir, 'vault.enc'),
      env: { OTPBACKUP_PASSPHRASE: PASSPHRASE },
      kdf: { N: 1024, r: 8, p: 1 },
    });
    await store.set('nas/seed', 'JBSWY3DPEHPK3PXP');
    // The shell has the passphrase, so a run from it works; cron's environment does not.
    const r = run(['schedule', 'print'], env2);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /started by cron \(no terminal, none of this shell's exports\), job docs would fail: .*vault .* needs a passphrase/,
    );
    assert.match(r.stderr, /hint: set vault\.passphraseCommand in the config/);
    assert.match(r.stderr, /--systemd and put the variables in .*systemd\.env/);
    assert.match(r.stderr, /--force/);
    assert.ok(
      !r.stderr.includes(PASSPHRASE) && !r.stderr.includes('JBSWY3DPEHPK3PXP'),
      'no secret in the output',
    );
    const inst = run(['schedule', 'install'], env2);
    assert.equal(inst.status, 2);
    assert.ok(!existsSync(table) || !ours(readFileSync(table, 'utf8')).length, 'nothing installed');
    // --force prints it anyway, with the warning.
    const forced = run(['schedule', 'print', '--force'], env2);
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stderr, /warning \(--force\)/);
    assert.match(forced.stdout, / run --config \S+config\.yaml # otpbackup\n$/);
  });

  it('with vault.passphraseCommand it passes; the line carries --config and the XDG paths', () => {
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    writeFileSync(
      configFile,
      yaml(`vault:\n  path: ${join(cfgDir, 'vault.enc')}\n  passphraseCommand: [cat, ${passFile}]\n`),
    );
    const r = run(['schedule', 'print'], { ...env2, XDG_STATE_HOME: join(home, 'st') });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `* * * * * XDG_CONFIG_HOME=${join(home, 'cfg')} XDG_STATE_HOME=${join(home, 'st')} ${process.execPath} ${bin} run --config ${configFile} # otpbackup\n`,
    );
  });

  it('--systemd: the passphrase in systemd.env (the EnvironmentFile) passes', () => {
    writeFileSync(configFile, yaml(`vault:\n  path: ${join(cfgDir, 'vault.enc')}\n`));
    assert.equal(run(['schedule', 'print', '--systemd'], env2).status, 2);
    mkdirSync(join(home, 'cfg', 'otpbackup'), { recursive: true });
    writeFileSync(
      join(home, 'cfg', 'otpbackup', 'systemd.env'),
      `# for otpbackup\nOTPBACKUP_PASSPHRASE="${PASSPHRASE}"\n`,
      {
        mode: 0o600,
      },
    );
    const r = run(['schedule', 'print', '--systemd'], env2);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^EnvironmentFile=-\S+systemd\.env$/m);
    assert.ok(!r.stdout.includes(PASSPHRASE));
  });

  it('schedule check reports env: references and otp.type prompt, by name only', () => {
    writeFileSync(
      configFile,
      `version: 1
accounts:
  a:
    protocol: ftp
    host: 127.0.0.1
    user: u
    template: '\${PASSWORD}\${TOTP}'
    password: env:A_PASSWORD
    otp:
      secret: env:A_SEED
  b:
    protocol: ftp
    host: 127.0.0.1
    user: u
    template: '\${TOTP}'
    otp:
      type: prompt
jobs:
  ja: { account: a, sources: [${home}], schedule: '@daily' }
  jb: { account: b, sources: [${home}], schedule: '@daily' }
`,
    );
    const r = run(['schedule', 'check', '--json'], {
      OTPBACKUP_CONFIG: configFile,
      A_SEED: 'JBSWY3DPEHPK3PXP',
    });
    assert.equal(r.status, 2, r.stderr);
    const problems = JSON.parse(r.stdout).problems as { job: string; field: string }[];
    assert.deepEqual(
      problems.map((p) => `${p.job} ${p.field}`),
      ['ja accounts.a.password', 'jb accounts.b.otp.type'],
    );
    const p = run(['schedule', 'print'], {
      OTPBACKUP_CONFIG: configFile,
      A_PASSWORD: 'pw',
      A_SEED: 'JBSWY3DPEHPK3PXP',
    });
    assert.equal(p.status, 2);
    assert.match(p.stderr, /environment variable A_PASSWORD is not set .*\(and 2 more\)/);
    assert.match(p.stderr, /otp\.type totp, hotp or command/);
  });
});
