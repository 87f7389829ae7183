// One definition per config field (#16.2): the field tables in src/config/schema.ts are what the
// loader accepts, what the saver writes (all of it, in table order) and where the defaults come from.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { flagParser, promptValidator, textProblem } from '../../src/config/field.js';
import { parseConfig } from '../../src/config/load.js';
import { accountToYaml, jobToYaml, saveJob } from '../../src/config/save.js';
import {
  ACCOUNT_FIELDS,
  DEFAULTS,
  JOB_FIELDS,
  OTP_FIELDS,
  TRUST_FIELDS,
  validate,
} from '../../src/config/schema.js';

const root = mkdtempSync(join(tmpdir(), 'otpb-table-'));
after(() => rmSync(root, { recursive: true, force: true }));

const FP = `SHA256:${'A'.repeat(43)}`;
const TLS = `SHA256:${Array.from({ length: 32 }, () => 'AB').join(':')}`;
/** Every field of an account and of a job set, to a value other than its default (but the one field
 *  that an SFTP account may not have, FTP's `connections`, checked on its own below). */
const EVERYTHING = `
accounts:
  box:
    protocol: sftp
    host: box.example.org
    port: 2222
    user: me
    remoteDir: /srv/b
    password: env:PW
    template: \${PASSWORD}\${TOTP}
    otp: {type: hotp, secret: env:SEED, algorithm: sha256, digits: 8, period: 60, t0: 5, counter: 7, command: [x], reuse: allow, marginSeconds: 4}
    authMethods: [publickey, keyboard-interactive]
    privateKey: /k
    privateKeyPassphrase: env:KP
    prompts: [{pattern: code, answer: '\${TOTP}'}]
    trust: {hostKeys: [${FP}], knownHosts: [/kh], ca: /ca.pem, tlsFingerprints: ['${TLS}'], insecureSkipVerify: true}
    timeout: 9
    connectTimeout: 3
    retries: 2
    bwlimit: 2M
jobs:
  docs:
    account: box
    sources: [/a]
    include: ['*.md']
    exclude: ['*.tmp']
    remoteDir: d
    schedule: '@hourly'
    timezone: UTC
    symlinks: follow
    mode: versions
    delete: true
    checksum: true
    retention: {keep: 3, days: 9}
    hooks: {before: [b], after: [a], onFailure: [f], timeout: 5}
    notify: {url: 'https://hc.example/x', start: '{url}/start', success: '{url}', failure: '{url}/fail', timeout: 4}
    bwlimit: 500k
    copyFirst: true
`;

describe('config field tables', () => {
  it('the saver writes every field of the tables, in table order', () => {
    const c = parseConfig(EVERYTHING, '/c.yaml');
    const a = accountToYaml(c.accounts.box!).full;
    assert.deepEqual(
      Object.keys(a),
      Object.keys(ACCOUNT_FIELDS).filter((k) => k !== 'connections'),
    );
    const ftp = parseConfig(
      EVERYTHING.replace('protocol: sftp', 'protocol: ftp')
        .replace(/ {4}(authMethods|privateKey|privateKeyPassphrase|prompts): .*\n/g, '')
        .replace('    timeout: 9\n', '    timeout: 9\n    connections: 2\n'),
      '/c.yaml',
    );
    const fa = accountToYaml(ftp.accounts.box!).full;
    assert.deepEqual(
      Object.keys(fa),
      Object.keys(ACCOUNT_FIELDS).filter(
        (k) => !['authMethods', 'privateKey', 'privateKeyPassphrase', 'prompts'].includes(k),
      ),
      'an FTP account saves connections in table order',
    );
    assert.equal(fa.connections, 2);
    assert.deepEqual(Object.keys(a.otp as object), Object.keys(OTP_FIELDS));
    assert.deepEqual(Object.keys(a.trust as object), Object.keys(TRUST_FIELDS));
    const j = jobToYaml(c.jobs.docs!).full;
    assert.deepEqual(Object.keys(j), Object.keys(JOB_FIELDS));
    // And what it writes reads back as the same config.
    const again = validate({ accounts: { box: a }, jobs: { docs: j } }, '/c.yaml');
    assert.deepEqual(again.problems, []);
    assert.deepEqual(again.config.accounts.box, c.accounts.box);
    assert.deepEqual(again.config.jobs.docs, c.jobs.docs);
  });

  it('unknown keys are offered the table keys', () => {
    const { problems } = validate({ jobs: { d: { account: 'x', sources: ['/a'], copyfirst: true } } }, '/c');
    const m = problems.find((p) => p.path.join('.') === 'jobs.d.copyfirst');
    assert.match(m?.message ?? '', /did you mean "copyFirst"\?/);
    assert.match(m?.message ?? '', new RegExp(`known keys: ${Object.keys(JOB_FIELDS).join(', ')}$`));
  });

  it('defaults come from the tables', () => {
    assert.equal(DEFAULTS.otp.digits, OTP_FIELDS.digits.default);
    assert.equal(DEFAULTS.job.schedule, JOB_FIELDS.schedule.default);
    assert.equal(DEFAULTS.remoteDir, ACCOUNT_FIELDS.remoteDir.default);
  });

  it('saving a job keeps its hand-written hooks and notify (the saver used to drop them)', async () => {
    const home = join(root, 'h1');
    const cfg = join(home, 'cfg', 'otpbackup');
    mkdirSync(cfg, { recursive: true });
    const path = join(cfg, 'config.yaml');
    writeFileSync(
      path,
      [
        'accounts:',
        '  nas: {protocol: ftp, host: h, user: u, otp: {secret: env:S}}',
        'jobs:',
        '  docs:',
        '    account: nas',
        '    sources: [/a]',
        '    hooks:',
        '      before: pg_dump -f "/tmp/db dump"  # as typed',
        '    notify: {url: env:HC}',
        '',
      ].join('\n'),
    );
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') };
    const before = parseConfig(readFileSync(path, 'utf8'), path).jobs.docs!;
    const saved = await saveJob(env, undefined, { ...before, checksum: true });
    assert.deepEqual(saved.jobs.docs?.hooks, { before: ['pg_dump', '-f', '/tmp/db dump'] });
    assert.deepEqual(saved.jobs.docs?.notify, { url: 'env:HC' });
    const text = readFileSync(path, 'utf8');
    // The command stays as written, comment and all.
    assert.match(text, /before: pg_dump -f "\/tmp\/db dump" +# as typed/);
    assert.match(text, /checksum: true/);
  });

  it('flags and prompts check typed text with the same rules and words as the config', () => {
    const { problems } = validate(
      { accounts: { a: { protocol: 'ftp', host: 'h', user: 'u', otp: { secret: 'env:S', reuse: 'alow' } } } },
      '/c',
    );
    const fromConfig = problems.find((p) => p.path.join('.') === 'accounts.a.otp.reuse')?.message;
    assert.equal(textProblem(OTP_FIELDS.reuse, 'alow'), fromConfig);
    assert.throws(() => flagParser('--otp-reuse', OTP_FIELDS.reuse)('alow'), {
      message: `--otp-reuse: ${fromConfig}`,
    });
    assert.equal(flagParser('--otp-reuse', OTP_FIELDS.reuse)('allow'), 'allow');
    assert.equal(promptValidator(OTP_FIELDS.digits)('9'), 'expected 6–8, got "9"');
    assert.equal(promptValidator(OTP_FIELDS.digits)(' 8 '), true);
    assert.equal(textProblem(ACCOUNT_FIELDS.timeout, '0'), 'expected a number > 0, got "0"');
  });
});
