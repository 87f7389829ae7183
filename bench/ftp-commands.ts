// FTP commands per file, from otpbackup's own protocol trace (--debug): starts ProFTPD and vsftpd,
// uploads N small files (or one file of BIG_MIB MiB, untraced) and downloads them back, and prints
// each command's count. Pipelined groups count each command: the round trips are fewer (see
// docs/design-decisions.md). Not part of `npm run bench`; run it under the bench lock:
//   flock /work/briefs/bench.lock node --import tsx bench/ftp-commands.ts   (after npm run build)
//   TRACE=0 (no --debug, for profiles) N=1000 SERVERS=vsftpd ARGS="--connections 1" DUMP=DIR NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" ...
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProftpd } from '../test/servers/proftpd.js';
import { startVsftpd } from '../test/servers/vsftpd.js';

const N = Number(process.env.N ?? 200);
const work = mkdtempSync(join(tmpdir(), 'otpbackup-ftpcmds-'));
const src = join(work, 'src');
mkdirSync(src);
const BIG = Number(process.env.BIG_MIB ?? 0);
if (BIG) writeFileSync(join(src, 'big.bin'), Buffer.alloc(BIG * 1024 * 1024, 7));
else for (let i = 0; i < N; i++) writeFileSync(join(src, `f${i}.bin`), Buffer.alloc(4096, i));
const which = (process.env.SERVERS ?? 'vsftpd,proftpd').split(',');
for (const name of which) {
  const v = name === 'vsftpd' ? await startVsftpd() : undefined;
  const p = v ? undefined : await startProftpd();
  const s = (v ?? p) as { ports: { ftp: number }; stop(): Promise<void> };
  const u = v ? v.users.reuse : (p as NonNullable<typeof p>).users.totp;
  const home = join(work, `home-${name}`);
  mkdirSync(home, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    XDG_STATE_HOME: join(home, 's'),
    XDG_CONFIG_HOME: join(home, 'c'),
    XDG_CACHE_HOME: join(home, 'k'),
    OTPBACKUP_TOTP_SECRET: u.secret,
    ...(name === 'vsftpd' ? { OTPBACKUP_PASSWORD: u.password } : {}),
  };
  const url = `ftp://${u.name}@127.0.0.1:${s.ports.ftp}/probe`;
  const extra = (process.env.ARGS ?? '').split(' ').filter(Boolean);
  for (const [label, args] of [
    [
      'upload',
      [
        'upload',
        src,
        '--to',
        url,
        '--otp-reuse',
        'allow',
        ...(BIG || process.env.TRACE === '0' ? [] : ['--debug']),
        ...extra,
      ],
    ],
    [
      'download',
      [
        'download',
        url,
        '--to',
        join(work, `dl-${name}`),
        '--otp-reuse',
        'allow',
        ...(BIG || process.env.TRACE === '0' ? [] : ['--debug']),
        ...extra,
      ],
    ],
  ] as const) {
    mkdirSync(join(work, `dl-${name}`), { recursive: true });
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [...(process.env.NODE_ARGS ?? '').split(' ').filter(Boolean), 'bin/otpbackup', ...args],
      {
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      },
    );
    const ms = performance.now() - t0;
    const out = r.stdout + r.stderr;
    const cmds = new Map<string, number>();
    let total = 0;
    for (const line of out.split('\n')) {
      const m = /ftp: > (\S+)/.exec(line);
      if (m) {
        total++;
        cmds.set(m[1]!, (cmds.get(m[1]!) ?? 0) + 1);
      }
    }
    console.log(
      `${name} ${label}: rc ${r.status} ${ms.toFixed(0)} ms, ${total} commands (${(total / N).toFixed(2)}/file):`,
      [...cmds].map(([k, v]) => `${k}=${v}`).join(' '),
    );
    if (process.env.DUMP) writeFileSync(join(process.env.DUMP, `${name}-${label}.log`), out);
    if (r.status !== 0) console.log(out.slice(-2000));
  }
  await s.stop();
}
rmSync(work, { recursive: true, force: true });
