// The one option table (#16.4): OTPBACKUP_<FLAG> gives what the flag gives and the flag wins; old
// names are hidden aliases; nothing secret comes from the environment; --config is one global option.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command } from 'commander';
import { defaultContext } from '../../src/cli/context.js';
import { buildProgram } from '../../src/cli/main.js';
import { addAccountOptions, envName, OPTIONS, type OptionSpec } from '../../src/cli/target-options.js';
import { otpbackup } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'otpb-options-'));
after(() => rmSync(root, { recursive: true, force: true }));

// A seed so that upload gets as far as its checks; port 1 on loopback refuses at once.
const SEED = { OTPBACKUP_TOTP_SECRET: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', HOME: root };
const upload = (args: string[], env: Record<string, string> = {}) =>
  otpbackup(['upload', 'package.json', '--to', 'sftp://ci@127.0.0.1:1/x', ...args], {
    env: { ...SEED, ...env },
  });
const NO_CODE = /--template has no one-time code variable/;

describe('OTPBACKUP_<FLAG>', () => {
  it('gives the same result as the flag', () => {
    const flag = upload(['--digits', '9']);
    const env = upload([], { OTPBACKUP_DIGITS: '9' });
    assert.equal(flag.status, 2, flag.stderr);
    assert.equal(env.status, flag.status);
    assert.match(flag.stderr, /must be 6, 7 or 8/);
    assert.equal(env.stderr, flag.stderr);

    const hk = upload(['--host-key', 'SHA256:nope']);
    const hkEnv = upload([], { OTPBACKUP_HOST_KEY: 'SHA256:nope' });
    assert.equal(hk.status, 2, hk.stderr);
    assert.equal(hkEnv.stderr, hk.stderr);
  });

  it('the flag wins over the variable', () => {
    // A bad value in the environment, a good one on the command line: the good one is used, so the
    // command gets past its checks and fails only at connecting (port 1).
    const envOnly = upload([], { OTPBACKUP_TEMPLATE: 'nocode' });
    assert.match(envOnly.stderr, NO_CODE);
    assert.equal(envOnly.status, 2);
    const r = upload(['--template', '${TOTP}'], { OTPBACKUP_TEMPLATE: 'nocode' });
    assert.doesNotMatch(r.stderr, NO_CODE);
    assert.notEqual(r.status, 2, r.stderr);
    // And the other way round: the flag's bad value is the one reported.
    const bad = upload(['--digits', '9'], { OTPBACKUP_DIGITS: '8' });
    assert.match(bad.stderr, /must be 6, 7 or 8/);
  });

  it('a boolean variable says 1 or 0; anything else is a usage error naming it', () => {
    const on = upload(['--template', 'x${PASSWORD}'], {
      OTPBACKUP_ALLOW_NO_CODE: '1',
      OTPBACKUP_PASSWORD: 'pw-not-a-secret-really',
    });
    assert.doesNotMatch(on.stderr, NO_CODE);
    const off = upload(['--template', 'x${PASSWORD}'], {
      OTPBACKUP_ALLOW_NO_CODE: '0',
      OTPBACKUP_PASSWORD: 'pw-not-a-secret-really',
    });
    assert.match(off.stderr, NO_CODE);
    const junk = upload([], { OTPBACKUP_ALLOW_NO_CODE: 'maybe' });
    assert.equal(junk.status, 2);
    assert.match(junk.stderr, /OTPBACKUP_ALLOW_NO_CODE: expected 1 or 0/);
  });

  it('a URL-only variable does not make a job target fail; the flag does', () => {
    const cfg = join(root, 'c.yaml');
    writeFileSync(
      cfg,
      'accounts:\n  a: {protocol: sftp, host: 127.0.0.1, port: 1, user: u, otp: {secret: env:S}}\njobs:\n  j: {account: a, sources: [/tmp]}\n',
    );
    const flag = otpbackup(['ls', 'j', '--digits', '8', '--config', cfg], { env: { HOME: root } });
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /--digits goes with a URL/);
    const env = otpbackup(['ls', 'j', '--config', cfg], { env: { HOME: root, OTPBACKUP_DIGITS: '8' } });
    assert.doesNotMatch(env.stderr, /goes with a URL/);
  });

  it('is never offered for an option that names a secret, and never shadows a secret variable', () => {
    const secretVars = [
      'OTPBACKUP_PASSWORD',
      'OTPBACKUP_TOTP_SECRET',
      'OTPBACKUP_OTPAUTH_URI',
      'OTPBACKUP_PASSPHRASE',
    ];
    for (const [key, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
      if (spec.sensitive) assert.notEqual(spec.env, true, `${key} is sensitive but takes the environment`);
      assert.ok(!secretVars.includes(envName(spec)), `${key}: ${envName(spec)} is a secret's variable`);
    }
    const help = otpbackup(['upload', '--help']).stdout;
    assert.match(help, /\(env:\s+OTPBACKUP_DIGITS\)/);
    assert.doesNotMatch(help, /OTPBACKUP_PASSWORD_ENV|OTPBACKUP_TOTP_SECRET_ENV|OTPBACKUP_OTPAUTH_URI_ENV/);
    // Named by the flag only: the variable holding the seed is not read from OTPBACKUP_TOTP_SECRET_ENV.
    const r = upload([], { OTPBACKUP_TOTP_SECRET_ENV: 'NOPE' });
    assert.doesNotMatch(r.stderr, /NOPE/);
  });
});

describe('parsers from the config field tables', () => {
  it('--otp-reuse is checked as the config checks otp.reuse, for every target (a typo was ignored with a job)', () => {
    const cfg = join(root, 'r.yaml');
    writeFileSync(
      cfg,
      'accounts:\n  a: {protocol: sftp, host: 127.0.0.1, port: 1, user: u, otp: {secret: env:S}}\njobs:\n  j: {account: a, sources: [/tmp]}\n',
    );
    for (const args of [
      ['ls', 'j', '--otp-reuse', 'alow', '--config', cfg],
      ['upload', 'package.json', '--account', 'a', '--otp-reuse', 'alow', '--config', cfg],
    ]) {
      const r = otpbackup(args, { env: { HOME: root } });
      assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /--otp-reuse: expected one of forbid, allow, got "alow" \(did you mean "allow"\?\)/,
      );
    }
  });
});

describe('old names', () => {
  it('--trust-host-key and --secret-env/--uri-env still work, and are not in --help', () => {
    const r = upload(['--trust-host-key', 'SHA256:nope']);
    assert.equal(r.stderr, upload(['--host-key', 'SHA256:nope']).stderr);
    assert.doesNotMatch(otpbackup(['upload', '--help']).stdout, /--trust-host-key/);
    const S = 'JBSWY3DPEHPK3PXP';
    const a = otpbackup(['code', '--secret-env', 'S', '--at', '0'], { env: { S } });
    const b = otpbackup(['code', '--totp-secret-env', 'S', '--at', '0'], { env: { S } });
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const u = otpbackup(['code', '--uri-env', 'U', '--at', '0'], {
      env: { U: `otpauth://totp/x?secret=${S}` },
    });
    assert.equal(u.stdout, b.stdout);
    const help = otpbackup(['code', '--help']).stdout;
    assert.doesNotMatch(help, /--secret-env|--uri-env/);
    assert.match(help, /--totp-secret-env/);
  });

  it('repeated old and new spellings add up', () => {
    const cmd = addAccountOptions(new Command().exitOverride(), 'add');
    cmd.parse(['--host-key', 'SHA256:a', '--trust-host-key', 'SHA256:b'], { from: 'user' });
    assert.deepEqual(cmd.opts().hostKey, ['SHA256:a', 'SHA256:b']);
  });
});

describe('account add and edit register from the table', () => {
  const longs = (c: Command) =>
    c.options
      .filter((o) => !o.hidden)
      .map((o) => o.long!)
      .filter((l) => !['--json', '--help'].includes(l));
  const tableFlags = new Set(
    (Object.values(OPTIONS) as OptionSpec[]).map((o) => /--[a-z0-9-]+/.exec(o.flags)![0]),
  );
  for (const which of ['add', 'edit'] as const) {
    it(`every flag of account ${which} is a row of the table, and --trust-host-key is a hidden alias`, () => {
      const account = buildProgram(defaultContext()).commands.find((c) => c.name() === 'account')!;
      const cmd = account.commands.find((c) => c.name() === which)!;
      for (const flag of longs(cmd))
        assert.ok(tableFlags.has(flag), `account ${which} ${flag} is not in the table`);
      const help = cmd.helpInformation();
      assert.match(help, /--host-key/);
      assert.doesNotMatch(help, /--trust-host-key|\(env:/);
      assert.ok(cmd.options.some((o) => o.long === '--trust-host-key' && o.hidden));
    });
  }
});

describe('--config, one global option', () => {
  it('is read before the command, after it, and after other options', () => {
    const dir = join(root, 'g');
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      'accounts:\n  a: {protocol: sftp, host: h, user: u, otp: {secret: env:S}}\njobs:\n  only-here: {account: a, sources: [/tmp]}\n',
    );
    const env = { HOME: join(root, 'empty') };
    for (const args of [
      ['--config', cfg, 'job', 'list'],
      ['job', 'list', '--config', cfg],
      ['job', 'list', '--json', `--config=${cfg}`],
      ['account', 'list', '--config', cfg],
    ]) {
      const r = otpbackup(args, { env });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stdout,
        args[1] === 'list' && args[0] === 'account' ? /\ba\b/ : /only-here/,
        args.join(' '),
      );
    }
  });

  it('is declared once, on the program: no command declares its own', () => {
    const program = buildProgram(defaultContext());
    const all = (c: Command, p: string[] = []): [string, Command][] =>
      c.commands.flatMap((s) => [
        [[...p, s.name()].join(' '), s] as [string, Command],
        ...all(s, [...p, s.name()]),
      ]);
    const own = all(program)
      .filter(([, c]) => c.options.some((o) => o.long === '--config'))
      .map(([n]) => n);
    assert.deepEqual(own, []);
    assert.ok(program.options.some((o) => o.long === '--config'));
  });
});
