// The user's SSH setup for sftp:// (#17.3): ~/.ssh/config aliases, ssh-agent for the public-key step,
// and ProxyJump through a bastion — resolved by the real ssh-config parser, then used against a real
// OpenSSH sshd (PAM password + google-authenticator code) and, through the sshd bastion, the
// ProFTPD SFTP vhost with its TOTP prompt. The sshd parts skip locally without sshd; fail under CI.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Account } from '../../src/config/types.js';
import { resolveRoute, withSshSetup } from '../../src/transport/sftp/ssh-config.js';
import { cli, type Sandbox, sandbox } from '../backup/e2e-helpers.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshdHandle, startSshd } from '../servers/sshd.js';
import { requireTool } from '../support/require.js';

const noSshd = requireTool('sshd', 'proftpd');

describe('ssh config resolution', () => {
  let box: Sandbox;
  before(() => {
    box = sandbox('otpbackup-sshcfg-');
    mkdirSync(join(box.env.HOME!, '.ssh'), { recursive: true });
    writeFileSync(join(box.env.HOME!, '.ssh', 'id_nas'), 'not really a key');
    writeFileSync(
      join(box.env.HOME!, '.ssh', 'config'),
      `Host nas
  HostName 10.1.2.3
  Port 2222
  User backup
  IdentityFile ~/.ssh/id_nas
  IdentityFile ~/.ssh/missing
  UserKnownHostsFile ~/.ssh/known_nas
  ProxyJump ops@bastion:2200
Host bastion
  HostName 192.0.2.7
  IdentityFile ~/.ssh/id_nas
Host *
  IdentitiesOnly yes
  User nobody-default
`,
    );
  });
  after(() => box.cleanup());

  test('an alias gives host, port, user, existing identity files, known_hosts and the jump host', () => {
    const home = box.env.HOME!;
    const r = resolveRoute({ host: 'nas', port: 22, user: '' }, box.env);
    assert.deepEqual(r, {
      host: '10.1.2.3',
      port: 2222,
      user: 'backup',
      identityFiles: [join(home, '.ssh/id_nas')],
      identitiesOnly: true,
      knownHosts: [join(home, '.ssh/known_nas')],
      jump: { host: '192.0.2.7', port: 2200, user: 'ops', privateKey: join(home, '.ssh/id_nas') },
    });
  });

  test('what the account says wins; port 22 counts as not said; Host * fills the rest', () => {
    const r = resolveRoute({ host: 'nas', port: 2022, user: 'me' }, box.env);
    assert.equal(r.port, 2022);
    assert.equal(r.user, 'me');
    const other = resolveRoute({ host: 'elsewhere.example', port: 22, user: '' }, box.env);
    assert.equal(other.host, 'elsewhere.example');
    assert.equal(other.user, 'nobody-default');
    assert.equal(other.jump, undefined);
  });

  test('IdentitiesOnly keeps the agent out; OTPBACKUP_SSH_CONFIG=none ignores the file', () => {
    const sock = join(box.dir, 'agent.sock');
    writeFileSync(sock, '');
    const a = { protocol: 'sftp', host: 'nas', port: 22, user: '', trust: {} } as unknown as Account;
    const withAgent = withSshSetup(a, { ...box.env, SSH_AUTH_SOCK: sock });
    assert.equal(withAgent.agent, undefined, 'IdentitiesOnly yes');
    assert.equal(withAgent.host, '10.1.2.3');
    const none = withSshSetup(a, { ...box.env, OTPBACKUP_SSH_CONFIG: 'none', SSH_AUTH_SOCK: sock });
    assert.equal(none.host, 'nas');
    assert.equal(none.agent, sock);
  });
});

describe('ssh config, agent and ProxyJump against OpenSSH sshd', { skip: noSshd }, () => {
  let s: SshdHandle;
  let p: ProftpdHandle;
  let box: Sandbox;
  let src: string;
  let key: string;
  let agent: ChildProcess | undefined;
  const secrets: string[] = [];

  before(async () => {
    [s, p] = await Promise.all([startSshd(), startProftpd()]);
    box = sandbox('otpbackup-sshcfg-e2e-');
    src = join(box.dir, 'report.txt');
    writeFileSync(src, 'quarterly numbers\n');
    mkdirSync(join(box.env.HOME!, '.ssh'), { recursive: true, mode: 0o700 });
    key = join(box.env.HOME!, '.ssh', 'id_test');
    copyFileSync(s.clientKeyPath, key);
    secrets.push(s.users.reuse.password, s.users.reuse.secret, p.users.totp.secret);
  });
  after(async () => {
    if (agent?.pid) process.kill(agent.pid, 'SIGKILL');
    await Promise.all([s?.stop(), p?.stop()]);
    box?.cleanup();
  });

  async function upload(args: string[], env: NodeJS.ProcessEnv) {
    const r = await cli(['upload', src, ...args], { ...box.env, CI: 'true', ...env });
    for (const x of secrets) assert.ok(!`${r.stdout}${r.stderr}`.includes(x), 'a secret leaked');
    return r;
  }

  test('sftp://ALIAS/… takes HostName, Port, User and IdentityFile from ~/.ssh/config', async () => {
    const u = s.users.reuse;
    writeFileSync(
      join(box.env.HOME!, '.ssh', 'config'),
      `Host nas\n  HostName 127.0.0.1\n  Port ${s.ports.keyKbd}\n  User ${u.name}\n  IdentityFile ~/.ssh/id_test\n  IdentitiesOnly yes\n`,
    );
    const r = await upload(
      ['--to', 'sftp://nas/~/alias-dir', '--host-key', s.sshHostKeyFingerprint, '--otp-reuse', 'allow'],
      {
        OTPBACKUP_PASSWORD: u.password,
        OTPBACKUP_TOTP_SECRET: u.secret,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      readFileSync(join(s.home(u.name), 'alias-dir', 'report.txt'), 'utf8'),
      'quarterly numbers\n',
    );
  });

  test('ssh-agent answers the public-key step of publickey,keyboard-interactive (no --key)', async () => {
    const u = s.users.reuse;
    const sock = join(box.dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
    const add = spawnSync('ssh-add', [key], { env: { ...box.env, SSH_AUTH_SOCK: sock }, encoding: 'utf8' });
    assert.equal(add.status, 0, add.stderr);
    writeFileSync(join(box.env.HOME!, '.ssh', 'config'), '');
    const r = await upload(
      [
        '--to',
        `sftp://${u.name}@127.0.0.1:${s.ports.keyKbd}/~/agent-dir`,
        '--host-key',
        s.sshHostKeyFingerprint,
        '--otp-reuse',
        'allow',
        '-vv',
      ],
      { OTPBACKUP_PASSWORD: u.password, OTPBACKUP_TOTP_SECRET: u.secret, SSH_AUTH_SOCK: sock },
    );
    assert.equal(r.status, 0, `${r.stderr}\n${await s.logTail(30)}`);
    assert.match(r.stderr, /publickey \(ssh-agent\)/);
    assert.equal(
      readFileSync(join(s.home(u.name), 'agent-dir', 'report.txt'), 'utf8'),
      'quarterly numbers\n',
    );
  });

  test('ProxyJump: through the sshd bastion (key) to the ProFTPD SFTP vhost and its TOTP prompt', async () => {
    const bastion = s.users.plain;
    const u = p.users.totp;
    writeFileSync(
      join(box.env.HOME!, '.ssh', 'config'),
      `Host backup-target\n  HostName 127.0.0.1\n  Port ${p.ports.sftpKbd}\n  User ${u.name}\n  ProxyJump ${bastion.name}@127.0.0.1:${s.ports.plain}\n` +
        `Host 127.0.0.1\n  IdentityFile ~/.ssh/id_test\n`,
    );
    const r = await upload(
      [
        '--to',
        'sftp://backup-target/jumped',
        '--host-key',
        p.sshHostKeyFingerprint,
        '--host-key',
        s.sshHostKeyFingerprint,
        '--otp-reuse',
        'allow',
      ],
      { OTPBACKUP_TOTP_SECRET: u.secret, SSH_AUTH_SOCK: '' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(p.home(u.name), 'jumped', 'report.txt'), 'utf8'), 'quarterly numbers\n');
    // The bastion saw a publickey login of its user and opened a channel; the code went to ProFTPD only.
    assert.match(await s.logTail(200), new RegExp(`Accepted publickey for ${bastion.name}`));
  });
});
