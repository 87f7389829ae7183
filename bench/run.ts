// `npm run bench`: issue #7's benchmark suite, on every server people run (issue #18): ProFTPD, stock
// OpenSSH sshd and stock vsftpd on loopback, each with an OTP login for otpbackup and a password-only
// twin for the other tools (bench/servers.ts). Makes data in a temp dir, runs every case on every
// server that speaks its protocol BENCH_RUNS times with the tools alternating, and writes
// bench/results/latest.{md,json}.
//
//   BENCH_SCALE=full|small|tiny   data sizes (default full: 1 GiB, 10,000 files, 100,000-file tree, 4 GiB)
//   BENCH_RUNS=3                  runs per tool
//   BENCH_OUT=DIR                 where latest.md/json go (default bench/results)
//   BENCH_NODE_ARGS="..."         extra node flags for otpbackup (e.g. --cpu-prof --cpu-prof-dir=DIR;
//                                 then `node --import tsx bench/profile.ts DIR` says where the CPU went)
//   BENCH_SERVERS=proftpd,sshd    only these servers (default all: proftpd, sshd, vsftpd)
//   BENCH_SERVER_DISK=shared      keep the servers' homes on the client's disk (default, as root: a
//                                 tmpfs each, as a remote server has its own disk; bench/servers.ts)
//   BENCH_VARIANTS="a:K=V b:K=V,K2=V2"  A/B levers in one process: each label adds an otpbackup row
//                                 "otpbackup[label]" run with those extra environment variables
//   --case ID[,ID]                only these cases: an id (big-sftp/sshd), a case number (2), or a
//                                 prefix (big-sftp: on every server; rss)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadCases } from './cases/download.js';
import { runCases } from './cases/run.js';
import { transferCases } from './cases/transfer.js';
import type { BenchContext, CaseDef, ToolRun, ToolStats } from './context.js';
import { machine, toolVersions } from './machine.js';
import { median, rssMethod, running, timed } from './measure.js';
import { type BenchReport, type CaseResult, markdown, seconds, writeReport } from './report.js';
import { bytesText, runsFrom, type Scale, scaleFrom } from './scale.js';
import { type BenchServer, SERVERS, type ServerName, startServer, unavailable } from './servers.js';

const ROOT = new URL('..', import.meta.url).pathname;
const ALL: CaseDef[] = [...transferCases, ...downloadCases, ...runCases].sort((a, b) => a.group - b.group);

function serversFrom(env: NodeJS.ProcessEnv): ServerName[] {
  if (!env.BENCH_SERVERS) return SERVERS;
  const names = env.BENCH_SERVERS.split(',').map((x) => x.trim());
  for (const n of names)
    if (!SERVERS.includes(n as ServerName))
      throw new Error(`BENCH_SERVERS: unknown server "${n}" (use ${SERVERS.join(', ')})`);
  return names as ServerName[];
}

function selected(argv: string[], servers: ServerName[]): CaseDef[] {
  const wanted: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--case') wanted.push(...(argv[++i] ?? '').split(','));
    else if (a.startsWith('--case=')) wanted.push(...a.slice(7).split(','));
    else throw new Error(`unknown argument "${a}" (use --case ID; ids: ${ALL.map((c) => c.id).join(', ')})`);
  }
  const pool = ALL.filter((c) => servers.includes(c.server));
  if (!wanted.length) return pool;
  const out = pool.filter((c) => wanted.some((w) => w === String(c.group) || c.id.startsWith(w)));
  if (!out.length)
    throw new Error(`--case ${wanted.join(',')} matches none of ${pool.map((c) => c.id).join(', ')}`);
  return out;
}

/** Bytes the selected cases need at once on the temp file system (data + one landed copy). */
function diskNeeded(cases: CaseDef[], s: Scale): number {
  const groups = new Set(cases.map((c) => c.group));
  let need = 512 * 2 ** 20;
  if (groups.has(1)) need += 2 * s.bigBytes;
  if (groups.has(2)) need += 2 * s.smallFiles * (s.smallBytes + 4096);
  if (groups.has(3)) need += 2 * s.treeFiles * 4096;
  if (groups.has(5)) need += 2 * s.rssBytes;
  if (groups.has(6)) need += 3 * s.bigBytes + 3 * s.smallFiles * (s.smallBytes + 4096);
  // The data set, its copies in both users' homes (stage()), one landed copy.
  if (groups.has(7)) need += 4 * s.rssBytes;
  return need;
}

/** BENCH_VARIANTS "label:K=V,K=V label2:K=V": extra otpbackup rows, each with its own environment. */
function variantsFrom(env: NodeJS.ProcessEnv): { label: string; env: Record<string, string> }[] {
  return (env.BENCH_VARIANTS ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((v) => {
      const [label, kvs = ''] = v.split(/:(.*)/s) as [string, string?];
      const vars: Record<string, string> = {};
      for (const kv of kvs.split(',').filter(Boolean)) {
        const [k, val = ''] = kv.split(/=(.*)/s) as [string, string?];
        vars[k] = val;
      }
      return { label, env: vars };
    });
}

/** The otpbackup row once more per variant, its command run with the variant's extra environment. */
function withVariants(tools: ToolRun[]): ToolRun[] {
  const variants = variantsFrom(process.env);
  const out = [...tools];
  for (const t of tools.filter((x) => x.name === 'otpbackup'))
    for (const v of variants)
      out.push({
        ...t,
        name: `otpbackup[${v.label}]`,
        cmd: async (run) => {
          const c = await t.cmd(run);
          return { ...c, env: { ...c.env, ...v.env } };
        },
      });
  return out;
}

/** CPU (ms) of the finished children of `pids` (/proc/PID/stat cutime + cstime, 100 Hz ticks). */
function childCpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[13]) + Number(f[14]); // fields 16 and 17 of proc(5)
    } catch {
      // gone
    }
  }
  return ticks * 10;
}

/** Waits (at most 3 s) until the daemons have reaped their session processes: only then is their
 *  CPU in the listener's cutime (sshd ends a session a little after the client has gone). */
async function sessionsGone(pids: number[]): Promise<void> {
  const busy = () =>
    pids.some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() !== '';
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 60 && busy(); i++) await new Promise((r) => setTimeout(r, 50));
}

const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Near the end of a TOTP step otpbackup deliberately waits (up to marginSeconds, 3 s) for the next
 * step, so that its code is not outdated on arrival. That wait is about the clock, not the transfer:
 * runs that log in with a code start outside those last seconds of a 30 s step.
 */
async function awaitFreshStep(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 3_500) await new Promise((r) => setTimeout(r, left + 50));
}

async function runCase(def: CaseDef, ctx: BenchContext, runs: number): Promise<CaseResult> {
  const title = def.title(ctx.scale);
  const n = def.runs ?? runs;
  const result: CaseResult = {
    id: def.id,
    server: ctx.server.label,
    group: def.group,
    title,
    runs: n,
    tools: [],
    checks: [],
  };
  say(`[${def.id}] ${title}: preparing`);
  let prepared: Awaited<ReturnType<CaseDef['prepare']>> | undefined;
  try {
    prepared = await def.prepare(ctx);
    result.input = prepared.input;
    const samples = new Map<
      string,
      { ms: number[]; rss: number[]; cpu: number[]; landed?: ToolStats['landed'] }
    >();
    prepared.tools = withVariants(prepared.tools);
    let tools = prepared.tools.filter((t) => !t.missing);
    for (const t of prepared.tools) if (t.missing) say(`[${def.id}] ${t.name}: skipped, ${t.missing}`);
    for (let run = 0; run < n; run++) {
      // Alternate: each run starts with a different tool, so warm-up effects do not favour one.
      const order = tools.map((_, i) => tools[(i + run) % tools.length]!);
      const line: string[] = [];
      for (const t of order) {
        const cmd = await t.cmd(run);
        if (t.totp) await awaitFreshStep();
        const srv0 = childCpuMs(ctx.server.pids);
        let sample: Awaited<ReturnType<typeof timed>>;
        let landed: Awaited<ReturnType<NonNullable<typeof t.after>>> | undefined;
        try {
          sample = await timed(cmd, ctx.scratch);
          landed = await t.after?.(run);
        } catch (e) {
          // A peer that fails (rclone's "426 Failure writing network stream" on loopback) leaves
          // the case to the others; otpbackup failing fails the case.
          if (t.name.startsWith('otpbackup')) throw e;
          const why = (e as Error).message.split('\n').slice(0, 2).join(' ').trim();
          say(`[${def.id}] ${t.name} failed, left out of this case: ${why}`);
          t.missing = `failed: ${why}`;
          tools = tools.filter((x) => x !== t);
          samples.delete(t.name);
          await sessionsGone(ctx.server.pids);
          continue;
        }
        await sessionsGone(ctx.server.pids);
        const srvMs = childCpuMs(ctx.server.pids) - srv0;
        execFileSync('sync');
        const s = samples.get(t.name) ?? { ms: [], rss: [], cpu: [] };
        s.ms.push(sample.ms);
        if (sample.rssKb !== undefined) s.rss.push(sample.rssKb);
        if (sample.cpuMs !== undefined) s.cpu.push(sample.cpuMs);
        if (landed) s.landed = landed;
        samples.set(t.name, s);
        line.push(
          `${t.name} ${seconds(sample.ms)}${sample.cpuMs === undefined ? '' : ` (cpu ${seconds(sample.cpuMs)}, server ${seconds(srvMs)})`}`,
        );
      }
      say(`[${def.id}] run ${run + 1}/${n}: ${line.join(' · ')}`);
    }
    const stats = new Map<string, ToolStats>();
    for (const t of prepared.tools) {
      const s = samples.get(t.name);
      if (!s) {
        result.tools.push({ tool: t.name, missing: t.missing ?? 'not run' });
        continue;
      }
      const st: ToolStats = { samplesMs: s.ms.map((x) => Math.round(x)), medianMs: Math.round(median(s.ms)) };
      if (s.rss.length) st.rssKb = Math.max(...s.rss);
      if (s.cpu.length) st.cpuMs = Math.round(median(s.cpu));
      if (s.landed) st.landed = s.landed;
      stats.set(t.name, st);
      result.tools.push({ tool: t.name, ...st });
    }
    result.checks = prepared.checks(stats);
    for (const c of result.checks)
      say(`[${def.id}] ${c.tool}: ${c.value} (target ${c.target}) ${c.met ? 'met' : 'MISSED'}`);
  } catch (e) {
    result.error = (e as Error).message;
    say(`[${def.id}] failed: ${result.error}`);
  } finally {
    await prepared?.cleanup?.().catch(() => {});
  }
  return result;
}

async function main(): Promise<number> {
  const scale = scaleFrom(process.env);
  const runs = runsFrom(process.env);
  const cases = selected(process.argv.slice(2), serversFrom(process.env));
  const out = process.env.BENCH_OUT ?? join(ROOT, 'bench', 'results');
  const needed = SERVERS.filter((n) => cases.some((c) => c.server === n));
  for (const n of needed) {
    const why = unavailable(n);
    if (why) throw new Error(`${n} cannot run: ${why} (leave it out with BENCH_SERVERS)`);
  }

  const fs = await statfs(tmpdir());
  const free = fs.bavail * fs.bsize;
  const need = diskNeeded(cases, scale);
  if (free < need)
    throw new Error(
      `${tmpdir()} has ${bytesText(free)} free; the ${scale.name} scale needs ${bytesText(need)}`,
    );

  const work = await mkdtemp(join(tmpdir(), 'otpbackup-bench-'));
  const servers = new Map<ServerName, BenchServer>();
  let cleaned: Promise<void> | undefined;
  const cleanup = () => {
    cleaned ??= (async () => {
      for (const pid of running) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
      for (const srv of servers.values()) await srv.stop().catch(() => {});
      await rm(work, { recursive: true, force: true });
    })();
    return cleaned;
  };
  const onSignal = (sig: NodeJS.Signals) => {
    say(`bench: ${sig}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const scratch = join(work, 'scratch');
    await mkdir(scratch, { mode: 0o700 });
    for (const n of needed) servers.set(n, await startServer(n));
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(work, 'home'),
      XDG_CONFIG_HOME: join(work, 'config'),
      XDG_STATE_HOME: join(work, 'state'),
      XDG_CACHE_HOME: join(work, 'cache'),
      XDG_DATA_HOME: join(work, 'data'),
      NO_COLOR: '1',
    };
    await mkdir(base.HOME as string);
    let seq = 0;
    const bin = join(ROOT, 'bin', 'otpbackup');
    // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof": profile otpbackup's runs (node refuses
    // --cpu-prof in NODE_OPTIONS).
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const ctx: BenchContext = {
      server: servers.get(needed[0] as ServerName) as BenchServer,
      scale,
      work,
      scratch,
      root: ROOT,
      otpbackup: (args, env = {}) => ({
        cmd: process.execPath,
        args: [...nodeArgs, bin, ...args],
        env: { ...base, ...env },
        cwd: work,
      }),
      scratchFile: (name) => join(scratch, `${name}-${seq++}`),
    };
    say(
      `bench: ${scale.name} scale, ${runs} run(s), servers ${needed.join(', ')}, cases ${cases.map((c) => c.id).join(', ')}; data in ${work}`,
    );
    const results: CaseResult[] = [];
    for (const def of cases)
      results.push(await runCase(def, { ...ctx, server: servers.get(def.server) as BenchServer }, runs));

    const report: BenchReport = {
      date: new Date().toISOString(),
      scale: scale.name,
      runs,
      rssMethod,
      serverDisk: [...servers.values()].every((v) => v.disk === 'tmpfs') ? 'tmpfs' : 'shared',
      machine: machine(),
      tools: await toolVersions({ cmd: process.execPath, args: [bin] }),
      cases: results,
    };
    const files = await writeReport(out, report);
    process.stdout.write(
      `${markdown(report)
        .split('\n')
        .filter((l) => l.startsWith('|'))
        .join('\n')}\n`,
    );
    say(`bench: wrote ${files.md} and ${files.json}`);
    return results.some((r) => r.error) ? 1 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`bench: ${(e as Error).message}`);
    process.exit(1);
  },
);
