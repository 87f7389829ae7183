// Saving: in-place edits keep comments and hand formatting, files are 0600 in a 0700 dir, invalid
// results write nothing, and references (never values) are what ends up in the file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { removeAccount, removeJob, saveAccount, saveJob } from '../../src/config/save.js';
import type { Account, Job } from '../../src/config/types.js';

const fixtures = new URL('../../fixtures/config/', import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), 'otpb-save-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function envFor(): NodeJS.ProcessEnv {
  const home = join(root, `h${n++}`);
  return { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg') };
}

function account(over: Partial<Account> = {}): Account {
  return {
    name: 'nas',
    protocol: 'ftp',
    host: '127.0.0.1',
    port: 21,
    user: 'backup',
    remoteDir: '.',
    template: '${PASSWORD}${TOTP}',
    password: 'keychain:otpbackup/nas-password',
    otp: {
      type: 'totp',
      secret: 'vault:nas-seed',
      algorithm: 'sha1',
      digits: 6,
      period: 30,
      t0: 0,
      reuse: 'forbid',
      marginSeconds: 3,
    },
    trust: {},
    ...over,
  };
}

const job: Job = {
  name: 'docs',
  account: 'nas',
  sources: ['/home/me/Documents'],
  remoteDir: 'docs',
  schedule: '@daily',
  symlinks: 'skip',
  mode: 'mirror',
  delete: false,
  checksum: false,
};

describe('save', () => {
  it('creates the file 0600 in a 0700 dir, writes only non-default keys, and round-trips', async () => {
    const env = envFor();
    const written = await saveAccount(env, undefined, account());
    const path = join(env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
    assert.equal(written.path, path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(env.XDG_CONFIG_HOME!, 'otpbackup')).mode & 0o777, 0o700);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^# otpbackup configuration/);
    assert.doesNotMatch(text, /port:|digits:|algorithm:|template:/);
    assert.deepEqual((await loadConfig(env)).accounts.nas, account());
  });

  it('keeps comments, order and hand formatting of what it does not change', async () => {
    const env = envFor();
    const p = join(root, `keep-${n}.yaml`);
    writeFileSync(p, readFileSync(join(fixtures, 'valid-full.yaml')));
    const before = parseConfig(readFileSync(p, 'utf8'), p);
    const nas = before.accounts.nas!;
    await saveAccount(env, p, { ...nas, host: 'nas2.example.org', otp: { ...nas.otp, digits: 6 } });
    const text = readFileSync(p, 'utf8');
    assert.match(text, /^# Every key, to check normalisation keeps explicit values\./);
    // The yaml library moves a comment after "key:" onto its own line; it is kept, not lost.
    assert.match(text, /nas:\n {4}# the NAS in the cellar\n/);
    assert.match(text, /host: nas2\.example\.org/);
    assert.match(text, /sources: \[~\/Documents, ~\/Pictures\]/);
    assert.match(text, /retention: \{keep: 5, days: 30\}/);
    assert.match(text, /schedule: "30 2 \* \* \*"/);
    const after = parseConfig(text, p);
    assert.equal(after.accounts.nas?.host, 'nas2.example.org');
    assert.equal(after.accounts.nas?.otp.digits, 6);
    assert.deepEqual(after.accounts.offsite, before.accounts.offsite);
    assert.deepEqual(after.jobs, before.jobs);
    // Apart from that comment, only the two changed lines differ.
    // The yaml library writes one flow style for all collections ("{a: 1}"), not per node.
    const strip = (t: string) =>
      t
        .split('\n')
        .filter((l) => !/nas:|the NAS in the cellar/.test(l))
        .map((l) => l.replace(/([[{]) /g, '$1').replace(/ ([\]}])/g, '$1'));
    const a = strip(readFileSync(join(fixtures, 'valid-full.yaml'), 'utf8'));
    const b = strip(text);
    assert.equal(a.length, b.length);
    assert.equal(a.filter((l, i) => l !== b[i]).length, 2);
  });

  it('drops optional keys that are no longer set, and adds non-defaults', async () => {
    const env = envFor();
    await saveAccount(
      env,
      undefined,
      account({ timeout: 10, trust: { hostKeys: ['SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'] } }),
    );
    await saveAccount(env, undefined, account({ port: 2121 }));
    const c = await loadConfig(env);
    assert.equal(c.accounts.nas?.timeout, undefined);
    assert.deepEqual(c.accounts.nas?.trust, {});
    assert.equal(c.accounts.nas?.port, 2121);
  });

  it('jobs: save, remove; removing an account used by a job is refused', async () => {
    const env = envFor();
    await saveAccount(env, undefined, account());
    await saveJob(env, undefined, job);
    assert.deepEqual((await loadConfig(env)).jobs.docs, job);
    await assert.rejects(removeAccount(env, undefined, 'nas'), /account "nas" is used by job docs/);
    await removeJob(env, undefined, 'docs');
    await removeAccount(env, undefined, 'nas');
    const c = await loadConfig(env);
    assert.deepEqual([Object.keys(c.accounts), Object.keys(c.jobs)], [[], []]);
    await assert.rejects(removeAccount(env, undefined, 'nas'), /no account "nas"/);
    await assert.rejects(removeJob(env, undefined, 'docs'), /no job "docs"/);
  });

  it('an edit that would make the config invalid writes nothing', async () => {
    const env = envFor();
    await saveAccount(env, undefined, account());
    const path = join(env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml');
    const before = readFileSync(path, 'utf8');
    await assert.rejects(
      saveJob(env, undefined, { ...job, account: 'missing' }),
      /would make .* invalid.*no account "missing"/,
    );
    await assert.rejects(saveAccount(env, undefined, account({ password: 'hunter2' })), (e: Error) => {
      assert.match(e.message, /plain secret/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
    assert.equal(readFileSync(path, 'utf8'), before);
  });

  it('refuses to edit a file that is already broken', async () => {
    const p = join(root, 'broken.yaml');
    writeFileSync(p, readFileSync(join(fixtures, 'invalid-many.yaml')));
    await assert.rejects(saveJob(envFor(), p, job), (e: Error & { hint?: string }) => {
      assert.match(e.message, /8 problems/);
      assert.match(e.hint ?? '', /nothing was changed/);
      return true;
    });
  });

  it('concurrent saves of different accounts all land (lock, re-read, write)', async () => {
    const env = envFor();
    const names = ['a1', 'a2', 'a3', 'a4', 'a5'];
    await Promise.all(names.map((name) => saveAccount(env, undefined, account({ name }))));
    assert.deepEqual(Object.keys((await loadConfig(env)).accounts).sort(), names);
  });
});
