// The account transactions (src/accounts/add, edit, remove) in process, with a real vault and env:
// references, and the real probe logging in to an in-process TOTP FTP server. Checks the order the
// transactions promise: nothing is stored before the test login; a failure after storing rolls the
// stores and the login state back; only a saved edit deletes what the account no longer uses.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addAccount } from '../../src/accounts/add.js';
import { editAccount } from '../../src/accounts/edit.js';
import type { AccountInput } from '../../src/accounts/input.js';
import { probeAccount } from '../../src/accounts/probe.js';
import { removeAccount } from '../../src/accounts/remove.js';
import type { AccountServices } from '../../src/accounts/services.js';
import { establishTrust } from '../../src/accounts/trust.js';
import { accountStatePath } from '../../src/config/paths.js';
import type { Account, Config } from '../../src/config/types.js';
import { isOtpBackupError } from '../../src/errors.js';
import { parseSecret } from '../../src/otp/index.js';
import { systemClock } from '../../src/schedule/clock.js';
import { secretAccess } from '../../src/secrets/access.js';
import { VaultStore, vaultPath } from '../../src/secrets/vault.js';
import { type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type InprocessFtpHandle, startInprocessFtp } from '../servers/ftp-inprocess.js';

let box: Sandbox;
let server: InprocessFtpHandle;
let configFile: string;
before(async () => {
  box = sandbox('otpbackup-accounts-');
  configFile = join(box.dir, 'config.yaml');
  server = await startInprocessFtp({ banMs: 0 }); // logins in one step may share a code
});
after(async () => {
  await server.stop();
  box.cleanup();
});

/** What each probe saw: the vault's entries at that moment, and whether it was told to fail. */
interface Probes {
  vaultAtProbe: string[][];
  /** Runs after a successful probe login, e.g. to break the config so the save fails. */
  afterProbe?: () => void;
  /** Accept without logging in: a secret the server would refuse can then reach the store. */
  noLogin?: boolean;
}

function services(probes: Probes): AccountServices {
  const vault = () =>
    new VaultStore({ path: vaultPath(box.env), env: box.env, kdf: { N: 2 ** 12, r: 8, p: 1 } });
  return {
    env: box.env,
    configPath: configFile,
    secrets: (config: Config) => secretAccess({ env: box.env, config, stores: { vault: vault() } }),
    probe: async (account: Account, pins: string[], getSecret: (ref: string) => Promise<string>) => {
      probes.vaultAtProbe.push(existsSync(vaultPath(box.env)) ? await vault().list() : []);
      await establishTrust(account, { env: box.env, pins });
      const r = probes.noLogin
        ? {
            account: account.name,
            server: '',
            ok: true as const,
            prompts: [],
            loginMs: 0,
            waitMs: 0,
            rttMs: 0,
            probe: '',
          }
        : await probeAccount(account, { env: box.env, clock: systemClock, getSecret });
      probes.afterProbe?.();
      return r;
    },
  };
}

const input = (name: string, extra: Partial<AccountInput> = {}): AccountInput => ({
  name,
  server: { protocol: 'ftp', host: '127.0.0.1', port: server.port, user: server.user },
  remoteDir: '.',
  password: server.password,
  otp: { seed: { secret: parseSecret(server.secret) }, period: server.period },
  store: 'vault',
  ...extra,
});

const vaultValue = async (ref: string) =>
  new VaultStore({ path: vaultPath(box.env), env: box.env }).get(ref.replace(/^vault:/, ''));
const config = () => readFileSync(configFile, 'utf8');

describe('account transactions', () => {
  it('add: tests the login with the typed values before storing anything, then stores and saves', async () => {
    const probes: Probes = { vaultAtProbe: [] };
    const r = await addAccount(input('box'), services(probes));
    assert.deepEqual(probes.vaultAtProbe, [[]], 'the vault was still empty during the test login');
    assert.deepEqual(r.references, { password: 'vault:box/password', otpSecret: 'vault:box/otp' });
    assert.equal(r.tested, true);
    assert.equal(await vaultValue('vault:box/password'), server.password);
    assert.equal(await vaultValue('vault:box/otp'), server.secret);
    assert.ok(!config().includes(server.password) && !config().includes(server.secret));
    assert.match(config(), /password: vault:box\/password/);
  });

  it('add: a refused login stores nothing; a save that fails deletes what was stored', async () => {
    const before = config();
    await assert.rejects(
      addAccount(input('wrong', { password: 'not-the-password' }), services({ vaultAtProbe: [] })),
      (e) => isOtpBackupError(e) && e.code === 'auth',
    );
    assert.equal(config(), before);
    assert.equal(await vaultValue('vault:wrong/password'), undefined);

    // The config turns invalid between the test login and the save (another editor): rolled back.
    const probes: Probes = {
      vaultAtProbe: [],
      afterProbe: () => writeFileSync(configFile, `${before}\nbogus: [\n`),
    };
    await assert.rejects(
      addAccount(input('late'), services(probes)),
      (e) => isOtpBackupError(e) && e.code === 'config',
    );
    assert.equal(await vaultValue('vault:late/otp'), undefined);
    assert.equal(await vaultValue('vault:late/password'), undefined);
    writeFileSync(configFile, before);
  });

  it('edit: a failed save restores the overwritten secret and the login state set aside', async () => {
    const state = accountStatePath(box.env, 'box');
    mkdirSync(dirname(state), { recursive: true });
    writeFileSync(state, JSON.stringify({ lastStep: 1 }));
    const before = config();
    const probes: Probes = {
      vaultAtProbe: [],
      noLogin: true,
      afterProbe: () => writeFileSync(configFile, `${before}\nbogus: [\n`),
    };
    // A new seed: the login state is set aside, the vault entry overwritten, then the save fails.
    const change: AccountInput = { otp: { seed: { secret: parseSecret('JBSWY3DPEHPK3PXP') } } };
    await assert.rejects(
      editAccount('box', change, services(probes)),
      (e) => isOtpBackupError(e) && e.code === 'config',
    );
    assert.equal(await vaultValue('vault:box/otp'), server.secret);
    assert.deepEqual(JSON.parse(readFileSync(state, 'utf8')), { lastStep: 1 }, 'the old login state is back');
    assert.ok(!existsSync(`${state}.before-edit`));
    writeFileSync(configFile, before);
  });

  it('edit: a rename moves the vault entries and the login state; only then the old ones go', async () => {
    writeFileSync(configFile, `${config()}jobs:\n  docs:\n    account: box\n    sources: [${box.dir}]\n`);
    const probes: Probes = { vaultAtProbe: [] };
    const r = await editAccount('box', { name: 'box2', otp: {} }, services(probes));
    assert.deepEqual(r.changed, ['name', 'password', 'otp']);
    assert.deepEqual(r.deletedSecrets, ['vault:box/password', 'vault:box/otp']);
    assert.deepEqual(probes.vaultAtProbe, [['box/otp', 'box/password']], 'nothing written before the test');
    assert.equal(await vaultValue('vault:box2/otp'), server.secret);
    assert.equal(await vaultValue('vault:box/otp'), undefined);
    assert.match(config(), /account: box2/);
    assert.ok(existsSync(accountStatePath(box.env, 'box2')));
    assert.ok(!existsSync(accountStatePath(box.env, 'box')));

    const same = await editAccount('box2', { remoteDir: '.', otp: {} }, services(probes));
    assert.deepEqual([same.changed, same.tested], [[], false]);
  });

  it('edit: a kept file: reference is read from its store for the test login and stays as it is', async () => {
    const pwFile = join(box.dir, 'box2.pw');
    writeFileSync(pwFile, `${server.password}\n`, { mode: 0o600 });
    writeFileSync(configFile, config().replace('password: vault:box2/password', `password: file:${pwFile}`));
    // A new seed: the probe logs in with it and the password from the file (the server checks both).
    const r = await editAccount(
      'box2',
      { otp: { seed: { secret: parseSecret(server.secret) } } },
      services({ vaultAtProbe: [] }),
    );
    assert.deepEqual([r.changed, r.tested], [['otp'], true]);
    assert.equal(r.references?.password, `file:${pwFile}`);
    assert.equal(readFileSync(pwFile, 'utf8'), `${server.password}\n`);
  });

  it('remove: deletes otpbackup’s own entries and leaves env: references alone', async () => {
    writeFileSync(
      configFile,
      config()
        .replace(/jobs:[\s\S]*$/, '')
        .replace(/password: file:\S+/, 'password: env:BOX_PW'),
    );
    const r = await removeAccount('box2', services({ vaultAtProbe: [] }));
    assert.deepEqual(r, { removed: 'box2', deletedSecrets: ['vault:box2/otp'], keptSecrets: ['env:BOX_PW'] });
    assert.equal(await vaultValue('vault:box2/otp'), undefined);
    assert.doesNotMatch(config(), /box2/);
  });
});
