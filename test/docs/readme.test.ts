// Every example in README.md runs: each `otpbackup` line of a ```sh block is run with the built CLI
// (through bash, so quoting, ~ and $VAR work as a user's shell would) in a temp HOME against real
// local servers; ```yaml blocks must parse, and the config example must pass parseConfig.
// Lines ending in `# illustrative` are not run; lines not starting with `otpbackup` (npm, export)
// are set-up the test provides itself (secrets come from the environment below).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ROOT } from '../cli/helpers.js';
import { type InprocessFtpHandle, startInprocessFtp } from '../servers/ftp-inprocess.js';
import { type ProftpdHandle, startProftpd } from '../servers/proftpd.js';
import { type SshServerHandle, startSshServer } from '../servers/ssh-inprocess.js';
import { type SshdHandle, startSshd } from '../servers/sshd.js';
import { startVsftpd, type VsftpdHandle } from '../servers/vsftpd.js';
import { requireTool } from '../support/require.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const ILLUSTRATIVE = /#\s*illustrative\b[^\n]*$/;
const EXAMPLE_FINGERPRINT = 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8';

function blocks(lang: string): string[] {
  const re = new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm');
  return [...README.matchAll(re)].map((m) => m[1]!);
}

/** Logical lines of the sh blocks (backslash continuations joined), indented ones included. */
function shellLines(): string[] {
  const out: string[] = [];
  for (const b of blocks('sh')) {
    let cur = '';
    for (const raw of b.split('\n')) {
      const line = raw.trim();
      if (line.endsWith('\\')) {
        cur += `${line.slice(0, -1)} `;
        continue;
      }
      cur += line;
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    }
  }
  return out;
}

function sh(cmd: string, cwd: string, env: Record<string, string>) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: 45_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

// otpbackup lines, and the tutorial's printf lines (the vault passphrase file for cron).
const IS_COMMAND = /^(?:(?:[A-Z_][A-Z0-9_]*=\S*\s+)*otpbackup\s|printf\s)/;
const skip = requireTool('proftpd', 'sftp-server');
// The stock sshd and vsftpd recipes need root (real local accounts): locally without it only their
// lines are left out; in CI they run.
const missingStock = requireTool('sshd', 'vsftpd');
const STOCK_HOSTS = /(ssh|vsftpd)\.example\.org/;

describe('README examples', { skip }, () => {
  let home: string;
  let proftpd: ProftpdHandle;
  let ftp: InprocessFtpHandle;
  let sftpgo: SshServerHandle;
  let pam: SshServerHandle;
  let sshd: SshdHandle | undefined;
  let vsftpd: VsftpdHandle | undefined;
  let env: Record<string, string>;
  let subs: [string, string][];

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'otpbackup-readme-'));
    // SFTPGo-style SSH (two rounds) and PAM forward_pass (one combined prompt, no reuse): in-process,
    // file operations by OpenSSH's sftp-server on the real file system, below `home`.
    [proftpd, ftp, sftpgo, pam] = await Promise.all([
      startProftpd(),
      startInprocessFtp({ period: 30 }),
      startSshServer({ style: 'sftpgo', root: home, user: 'alice', period: 30 }),
      startSshServer({ style: 'pam', forwardPass: true, root: home, user: 'deploy', period: 30 }),
    ]);
    if (!missingStock) [sshd, vsftpd] = await Promise.all([startSshd(), startVsftpd()]);
    // Placeholder hosts, ports and fingerprints in the README → the local servers.
    subs = [
      ...(sshd && vsftpd
        ? ([
            ['deploy@ssh.example.org:22', `${sshd.users.totp.name}@127.0.0.1:${sshd.ports.kbd}`],
            ['SHA256:SshdExampleHostKeyFingerprintXXXXXXXXXXXXXXX', sshd.sshHostKeyFingerprint],
            ['alice@vsftpd.example.org:21', `${vsftpd.users.totp.name}@127.0.0.1:${vsftpd.ports.ftp}`],
          ] as [string, string][])
        : []),
      ['nas.example.org:21', `127.0.0.1:${proftpd.ports.ftp}`],
      ['proftpd.example.org:21/', `127.0.0.1:${proftpd.ports.ftp}/`],
      ['proftpd.example.org:2222', `127.0.0.1:${proftpd.ports.sftpKbd}`],
      ['proftpd.example.org:2121', `127.0.0.1:${proftpd.ports.hotp}`],
      ['alice@sftpgo.example.org:2121', `${ftp.user}@127.0.0.1:${ftp.port}`],
      [EXAMPLE_FINGERPRINT, proftpd.sshHostKeyFingerprint],
      // The SSH servers see absolute paths: the README's /srv and /var trees map into the temp HOME.
      ['alice@sftpgo.example.org:2022/srv/', `alice@127.0.0.1:${sftpgo.port}${home}/srv/`],
      ['SHA256:SFTPGoExampleHostKeyFingerprintXXXXXXXXXXXX', sftpgo.hostKeyFingerprint],
      ['deploy@pam.example.org:22/var/', `deploy@127.0.0.1:${pam.port}${home}/var/`],
      ['SHA256:PamExampleHostKeyFingerprintXXXXXXXXXXXXXXXX', pam.hostKeyFingerprint],
    ];
    for (const d of ['Documents', 'site']) mkdirSync(join(home, d), { recursive: true });
    writeFileSync(join(home, 'Documents', 'a.txt'), 'alpha\n');
    writeFileSync(join(home, 'site', 'index.html'), '<h1>site</h1>\n');
    writeFileSync(join(home, 'Documents', 'skip.tmp'), 'excluded\n');
    writeFileSync(join(home, 'report.pdf'), '%PDF-1.4 sample\n');
    // A fake `crontab` (OTPBACKUP_CRONTAB) so the test never touches a real one.
    const fake = join(home, 'fake-crontab');
    writeFileSync(
      fake,
      `#!/bin/sh\nf="$HOME/crontab.txt"\nif [ "$1" = -l ]; then [ -f "$f" ] || { echo "no crontab for test" >&2; exit 1; }; cat "$f"; else cat > "$f"; fi\n`,
    );
    chmodSync(fake, 0o755);
    const bin = join(home, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'otpbackup'),
      `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin', 'otpbackup')}" "$@"\n`,
    );
    chmodSync(join(bin, 'otpbackup'), 0o755);
    const u = proftpd.users;
    env = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_STATE_HOME: join(home, '.local', 'state'),
      NO_COLOR: '1',
      OTPBACKUP_PASSPHRASE: 'readme-test-vault-passphrase',
      OTPBACKUP_CRONTAB: fake,
      NAS_TOTP_SEED: u.totp.secret,
      PRO_SEED: u.totp.secret,
      HOTP_SEED: u.hotp.secret,
      SFTPGO_PASSWORD: ftp.password,
      SFTPGO_SEED: ftp.secret,
      SFTPGO_SSH_PASSWORD: sftpgo.password,
      SFTPGO_SSH_SEED: sftpgo.secret,
      DEPLOY_PASSWORD: pam.password,
      DEPLOY_SEED: pam.secret,
      SSH_PASSWORD: sshd?.users.totp.password ?? '',
      SSH_SEED: sshd?.users.totp.secret ?? '',
      FTP_PASSWORD: vsftpd?.users.totp.password ?? '',
      FTP_SEED: vsftpd?.users.totp.secret ?? '',
    };
  });

  after(async () => {
    await Promise.all([
      proftpd?.stop(),
      ftp?.stop(),
      sftpgo?.stop(),
      pam?.stop(),
      sshd?.stop(),
      vsftpd?.stop(),
    ]);
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('every otpbackup line of the sh examples exits 0, and no secret leaks', async () => {
    const lines = shellLines().filter(
      (l) => !ILLUSTRATIVE.test(l) && IS_COMMAND.test(l) && (sshd || !STOCK_HOSTS.test(l)),
    );
    assert.ok(lines.length >= 24, `expected many runnable examples, found ${lines.length}`);
    const secrets = [
      proftpd.users.totp.secret,
      proftpd.users.hotp.secret,
      ftp.password,
      ftp.secret,
      sftpgo.password,
      sftpgo.secret,
      pam.password,
      pam.secret,
      ...(sshd && vsftpd
        ? [
            sshd.users.totp.password,
            sshd.users.totp.secret,
            vsftpd.users.totp.password,
            vsftpd.users.totp.secret,
          ]
        : []),
    ];
    for (const line of lines) {
      let cmd = line;
      for (const [from, to] of subs) cmd = cmd.split(from).join(to);
      // Asynchronous: the in-process FTP server lives in this event loop.
      const r = await sh(cmd, home, env);
      const out = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, `README example failed (exit ${r.status}): ${line}\n${out}`);
      for (const s of secrets) assert.ok(!out.includes(s), `a secret leaked in the output of: ${line}`);
    }
    // The walkthrough's job and the SFTPGo upload really landed on the servers.
    const landed = readFileSync(
      join(proftpd.home(proftpd.users.totp.name), 'backup', 'documents', 'a.txt'),
      'utf8',
    );
    assert.equal(landed, 'alpha\n');
    // "Getting files back": the walkthrough's job restored, the CI download fetched.
    assert.equal(readFileSync(join(home, 'restored', 'a.txt'), 'utf8'), 'alpha\n');
    assert.equal(readFileSync(join(home, 'artifacts', 'report.pdf'), 'utf8'), '%PDF-1.4 sample\n');
    assert.equal(readFileSync(join(ftp.root, 'reports', 'report.pdf'), 'utf8'), '%PDF-1.4 sample\n');
    // The SFTPGo-over-SSH and PAM forward_pass recipes: two rounds, and one combined prompt.
    assert.equal(readFileSync(join(home, 'srv', 'reports', 'report.pdf'), 'utf8'), '%PDF-1.4 sample\n');
    assert.deepEqual(sftpgo.prompts, ['Password: ', 'Authentication code: ']);
    assert.equal(readFileSync(join(home, 'var', 'www', 'index.html'), 'utf8'), '<h1>site</h1>\n');
    assert.deepEqual(pam.prompts, ['Password & verification code: ']);
    assert.equal(sftpgo.rejections + pam.rejections, 0, 'no refused answer');
    // The stock sshd and vsftpd recipes: into the sshd home (/~/www) and the vsftpd chroot.
    if (sshd && vsftpd) {
      const su = sshd.users.totp;
      assert.equal(readFileSync(join(sshd.home(su.name), 'www', 'index.html'), 'utf8'), '<h1>site</h1>\n');
      const vu = vsftpd.users.totp;
      assert.equal(
        readFileSync(join(vsftpd.home(vu.name), 'reports', 'report.pdf'), 'utf8'),
        '%PDF-1.4 sample\n',
      );
      assert.equal((await sshd.failedLogins()) + (await vsftpd.failedLogins()), 0, 'no refused login');
    }
  });
});

describe('README YAML examples', () => {
  const yamls = blocks('yaml');

  test('every yaml block parses', () => {
    assert.ok(
      yamls.length >= 3,
      `expected config, GitHub Actions and GitLab CI examples, found ${yamls.length}`,
    );
    for (const y of yamls) assert.doesNotThrow(() => parseYaml(y), y.slice(0, 80));
  });

  test('the config example passes parseConfig', () => {
    const cfg = yamls.find((y) => /^accounts:/m.test(y));
    assert.ok(cfg, 'no config example in README');
    const c = parseConfig(cfg, '/tmp/config.yaml');
    assert.deepEqual(Object.keys(c.accounts).sort(), ['ci', 'nas']);
    assert.equal(c.jobs.documents?.account, 'nas');
  });

  test('the CI examples run otpbackup upload with secrets from the environment', () => {
    const gh = parseYaml(yamls.find((y) => /runs-on:/.test(y)) ?? '');
    const step = gh.jobs.upload.steps.find((s: { run?: string }) => s.run?.includes('otpbackup upload'));
    assert.match(step.env.OTPBACKUP_TOTP_SECRET, /secrets\./);
    const gl = parseYaml(yamls.find((y) => /image: node/.test(y)) ?? '');
    assert.ok(gl.deploy.script.some((s: string) => s.includes('otpbackup upload')));
    assert.equal(gl.deploy.variables.OTPBACKUP_TOTP_SECRET, '$FTP_TOTP_SECRET');
  });
});
