// Where otpbackup's CPU goes in a bench case: summarises the V8 .cpuprofile files that
// `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench -- --case ID` leaves in DIR.
//
//   node --import tsx bench/profile.ts DIR [--top N]
//
// Prints self time per layer (otpbackup's own code, ssh2, basic-ftp, each node: core module, GC,
// idle = waiting on the network or the disk) and the top functions by self time, summed over every
// profile in DIR (one per otpbackup process the case ran). "idle" high and CPU low means the case is
// bound by round trips or the server; CPU near the wall time means it is bound by the client.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** The layer a function belongs to, from its script URL. */
export function layerOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle (waiting)';
  if (fn === '(program)') return 'V8/native (program)';
  if (url.includes('/node_modules/')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const pkg = m?.[1] ?? 'node_modules';
    if (pkg === 'ssh2') {
      if (/\/crypto|poly1305|chacha/i.test(url)) return 'ssh2 crypto';
      if (/\/sftp/i.test(url)) return 'ssh2 sftp';
      return 'ssh2 protocol';
    }
    return pkg;
  }
  if (url.startsWith('node:'))
    return url
      .replace(/^node:internal\//, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  if (url.includes('/src/') || url.includes('/dist/')) return 'otpbackup';
  return url === '' ? '(native)' : 'other';
}

export interface Summary {
  wallMs: number;
  layers: Map<string, number>;
  functions: Map<string, number>;
  /** Native functions (syscalls, crypto) keyed by the nearest script function above them. */
  nativeCallers: Map<string, number>;
}

function frameKey(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const short = url.replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|dist)\//, '$1/');
  return `${functionName || '(anonymous)'} ${short}:${lineNumber + 1} [${layerOf(url, functionName)}]`;
}

export function summarise(profiles: Profile[]): Summary {
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  const nativeCallers = new Map<string, number>();
  let wallMs = 0;
  for (const p of profiles) {
    wallMs += (p.endTime - p.startTime) / 1000;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i] as number);
      if (!n) continue;
      const ms = (p.timeDeltas[i] ?? 0) / 1000;
      const { functionName, url } = n.callFrame;
      const layer = layerOf(url, functionName);
      layers.set(layer, (layers.get(layer) ?? 0) + ms);
      const key = frameKey(n);
      functions.set(key, (functions.get(key) ?? 0) + ms);
      if (url === '' && !functionName.startsWith('(')) {
        // The first caller outside node's own internals: who asked for this syscall or cipher.
        let up = parent.get(n.id);
        while (up !== undefined) {
          const u = byId.get(up) as ProfileNode;
          if (u.callFrame.url !== '' && !u.callFrame.url.startsWith('node:')) break;
          up = parent.get(up);
        }
        const by = up === undefined ? '(root)' : frameKey(byId.get(up) as ProfileNode);
        const k = `${functionName} ← ${by}`;
        nativeCallers.set(k, (nativeCallers.get(k) ?? 0) + ms);
      }
    }
  }
  return { wallMs, layers, functions, nativeCallers };
}

function table(m: Map<string, number>, total: number, top: number): string {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)} %  ${k}`,
    )
    .join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node --import tsx bench/profile.ts DIR [--top N]');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const top = topAt > 0 ? Number(process.argv[topAt + 1]) : 15;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const s = summarise(files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile));
  const busy = [...s.layers].filter(([k]) => k !== 'idle (waiting)').reduce((a, [, v]) => a + v, 0);
  console.log(
    `${files.length} profile(s), ${s.wallMs.toFixed(0)} ms profiled, ${busy.toFixed(0)} ms on the CPU (${((100 * busy) / s.wallMs).toFixed(0)} %)\n`,
  );
  console.log(`by layer:\n${table(s.layers, s.wallMs, 20)}\n`);
  console.log(`top functions (self time):\n${table(s.functions, s.wallMs, top)}\n`);
  console.log(`native time by the script that called it:\n${table(s.nativeCallers, s.wallMs, top)}`);
}
