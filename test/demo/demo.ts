// `npm run demo`: the real main job against an embedded OTP-protected server, end to end.
// Starts an in-process FTP server on 127.0.0.1 that demands password + current TOTP (SFTPGo style,
// with its replay ban), registers an account through the real CLI (seed and password go to the
// encrypted vault, only references to the config), adds a job over a sample tree with `job add`,
// runs `otpbackup run` exactly as cron would, shows what landed, and cleans up. Each command is
// printed as it could be pasted into a shell (quoted where the shell would change it). The process
// ends by itself once the server is stopped: no handle may stay open (test/demo/demo.test.ts).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { encodeBase32 } from '../../src/otp/index.js';
import { startInprocessFtp } from '../servers/ftp-inprocess.js';

const root = new URL('../..', import.meta.url).pathname;
const keep = process.argv.includes('--keep');
const say = (s: string) => process.stdout.write(`${s}\n`);
/** `arg` as a POSIX shell reads it back: bare when safe, else in single quotes (`${TOTP}` stays literal). */
const shellQuote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'otpbackup-demo-'));
  const home = join(tmp, 'home');
  const src = join(tmp, 'documents');
  mkdirSync(join(src, 'reports', '2026'), { recursive: true });
  writeFileSync(join(src, 'README.txt'), 'Files backed up by the otpbackup demo.\n');
  writeFileSync(join(src, 'reports', '2026', 'q3.csv'), 'quarter,revenue\nQ3,1234\n');
  writeFileSync(join(src, 'photo.bin'), randomBytes(256 * 1024));
  writeFileSync(join(src, 'scratch.tmp'), 'excluded by the job\n');

  // Throwaway credentials, fresh each run.
  const password = randomBytes(9).toString('base64url');
  const seed = encodeBase32(randomBytes(20));
  const server = await startInprocessFtp({ user: 'demo', password, secret: seed, period: 30 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    OTPBACKUP_PASSPHRASE: randomBytes(18).toString('base64url'),
    DEMO_PASSWORD: password,
    DEMO_SEED: seed,
    NO_COLOR: '1',
  };
  // Asynchronous on purpose: the server lives in this process and must keep answering.
  const cli = (args: string[]) =>
    new Promise<number>((resolve) => {
      say(`$ otpbackup ${args.map(shellQuote).join(' ')}`);
      const child = spawn(process.execPath, [join(root, 'bin', 'otpbackup'), ...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      child.on('close', (status) => {
        for (const line of out.split('\n').filter(Boolean)) say(`  ${line}`);
        resolve(status ?? 1);
      });
    });

  let code = 1;
  try {
    say(`embedded FTP server on 127.0.0.1:${server.port}: login = password + current 6-digit TOTP`);
    let rc = await cli([
      'account',
      'add',
      'demo',
      '--url',
      `ftp://demo@127.0.0.1:${server.port}/`,
      '--password-env',
      'DEMO_PASSWORD',
      '--totp-secret-env',
      'DEMO_SEED',
      '--template',
      '${PASSWORD}${TOTP}',
      '--store',
      'vault',
      '--no-test',
    ]);
    if (rc !== 0) throw new Error(`account add exited ${rc}`);
    rc = await cli([
      'job',
      'add',
      'documents',
      '--account',
      'demo',
      '--source',
      src,
      '--exclude',
      '*.tmp',
      '--remote-dir',
      'backup',
      '--schedule',
      '@daily',
    ]);
    if (rc !== 0) throw new Error(`job add exited ${rc}`);
    rc = await cli(['run', '-v']);
    if (rc !== 0) throw new Error(`run exited ${rc}`);
    rc = await cli(['status']);
    say('what landed on the server:');
    for (const f of walk(server.root).sort()) say(`  /${f}  (${statSync(join(server.root, f)).size} bytes)`);
    const config = readFileSync(join(env.XDG_CONFIG_HOME!, 'otpbackup', 'config.yaml'), 'utf8');
    if (config.includes(password) || config.includes(seed))
      throw new Error('a secret reached the config file');
    say(`logins accepted: ${server.successfulLogins()}, refused: ${server.failedLogins()}`);
    say('the config holds only references (vault:…); the seed and password live in the encrypted vault.');
    code = 0;
  } catch (e) {
    process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  } finally {
    await server.stop();
    if (keep) say(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
  return code;
}

process.exitCode = await main();
