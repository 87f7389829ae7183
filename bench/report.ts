// bench/results/latest.md (one table) and latest.json (everything, machine and tool versions too).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Check, Landed, ToolStats } from './context.js';
import type { Machine } from './machine.js';

export interface ToolResult extends Partial<ToolStats> {
  tool: string;
  missing?: string;
}

export interface CaseResult {
  id: string;
  group: number;
  title: string;
  runs: number;
  input?: Landed;
  tools: ToolResult[];
  checks: Check[];
  error?: string;
}

export interface BenchReport {
  date: string;
  scale: string;
  runs: number;
  rssMethod: string;
  machine: Machine;
  tools: Record<string, string>;
  cases: CaseResult[];
}

export function seconds(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(0)} ms`;
}

const mb = (kb: number | undefined) => (kb === undefined ? '' : `${((kb * 1024) / 1e6).toFixed(0)} MB`);

export function markdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# otpbackup benchmark (${r.scale} scale)`,
    '',
    `${r.date} · ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM · Linux ${m.kernel} · Node ${m.node}`,
    '',
    `Median of ${r.runs} runs per tool (tools alternating), wall time of the whole command (start-up and`,
    'login included). Ratio = otpbackup ÷ that tool. Servers: ProFTPD on 127.0.0.1; otpbackup logs in',
    'with a TOTP code, the other tools to a password-only twin of the same virtual host.',
    '',
    '| case | tool | median | peak RSS | ratio | target | met? |',
    '| --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const c of r.cases) {
    if (c.error) {
      lines.push(`| ${c.title} | — | failed: ${c.error.split('\n')[0]?.replace(/\|/g, '\\|')} | | | | |`);
      continue;
    }
    const ours = c.tools.find((t) => t.tool === 'otpbackup');
    for (const t of c.tools) {
      const checks = c.checks.filter((k) => k.tool === t.tool);
      const ratio =
        t.tool !== 'otpbackup' && ours?.medianMs && t.medianMs
          ? `${(ours.medianMs / t.medianMs).toFixed(2)}×`
          : '';
      const target = checks
        .map((k) => (k.target.startsWith('≤ +') ? `${k.target} (${k.value})` : k.target))
        .join('; ');
      const met = checks.map((k) => (k.met ? '**yes**' : 'no')).join('; ');
      const median = t.missing
        ? `missing: ${t.missing}`
        : t.medianMs === undefined
          ? ''
          : seconds(t.medianMs);
      lines.push(`| ${c.title} | ${t.tool} | ${median} | ${mb(t.rssKb)} | ${ratio} | ${target} | ${met} |`);
    }
  }
  lines.push('', 'Tool versions:', '');
  for (const [k, v] of Object.entries(r.tools)) lines.push(`- ${k}: ${v}`);
  lines.push(
    '',
    `Peak RSS via ${r.rssMethod}. Reproduce with \`npm run bench\` (options at the top of bench/run.ts).`,
    '',
  );
  return lines.join('\n');
}

export async function writeReport(dir: string, r: BenchReport): Promise<{ md: string; json: string }> {
  await mkdir(dir, { recursive: true });
  const md = join(dir, 'latest.md');
  const json = join(dir, 'latest.json');
  await writeFile(md, markdown(r));
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  return { md, json };
}
