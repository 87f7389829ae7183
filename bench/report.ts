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
  /** "<case>/<server>" (bench/cases/transfer.ts), or the bare case id of a server-independent one. */
  id: string;
  /** The server's label ("ProFTPD", "OpenSSH sshd", "vsftpd"). */
  server?: string;
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
  /** Where the servers' homes were: their own tmpfs, or the client's disk (older reports). */
  serverDisk?: 'tmpfs' | 'shared';
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

/** otpbackup's time over each other tool's, as "1.47× curl, 1.16× rclone". */
function ratios(c: CaseResult): string {
  const us = c.tools.find((t) => t.tool === 'otpbackup');
  const ours = us?.medianMs;
  if (c.error) return 'failed';
  if (!ours) return '';
  const peers = c.tools.filter((t) => t.tool !== 'otpbackup' && t.medianMs);
  // A case with no other tool (peak RSS) shows what it measures instead.
  if (!peers.length) return us.rssKb === undefined ? seconds(ours) : `${mb(us.rssKb)} peak RSS`;
  return peers.map((t) => `${(ours / (t.medianMs as number)).toFixed(2)}× ${t.tool}`).join(', ');
}

/** One row per case, one column per server: the ratios side by side. */
function perServer(r: BenchReport): string[] {
  const order = ['ProFTPD', 'OpenSSH sshd', 'vsftpd'];
  const rank = (sv: string) => (order.includes(sv) ? order.indexOf(sv) : order.length);
  const servers = [...new Set(r.cases.map((c) => c.server ?? ''))]
    .filter(Boolean)
    .sort((a, b) => rank(a) - rank(b));
  const rows = new Map<string, Map<string, string>>();
  for (const c of r.cases) {
    const row = rows.get(c.title) ?? new Map<string, string>();
    row.set(c.server ?? '', ratios(c));
    rows.set(c.title, row);
  }
  const cell = (t: string) => t.replace(/\|/g, '\\|') || '—';
  return [
    `| case | ${servers.join(' | ')} |`,
    `| --- | ${servers.map(() => '---').join(' | ')} |`,
    ...[...rows].map(
      ([title, row]) => `| ${title} | ${servers.map((sv) => cell(row.get(sv) ?? '')).join(' | ')} |`,
    ),
  ];
}

export function markdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# otpbackup benchmark (${r.scale} scale)`,
    '',
    `${r.date} · ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM · Linux ${m.kernel} · Node ${m.node}`,
    '',
    `Median of ${r.runs} runs per tool (tools alternating), wall time of the whole command (start-up and`,
    'login included). Ratio = otpbackup ÷ that tool. Servers on 127.0.0.1: ProFTPD (mod_auth_otp),',
    'stock OpenSSH sshd (its sftp-server; PAM password, then google-authenticator code) and stock',
    'vsftpd (PAM; the password is password+code). otpbackup logs in with a TOTP code, the other tools',
    'to a password-only twin of the same server. Cases that do not depend on the server run on one.',
    r.serverDisk === 'tmpfs'
      ? "The servers' homes are on a tmpfs of their own, as a remote server has its own disk."
      : "The servers' homes share the client's disk (a client's fsync may wait on the server's writeback).",
    '',
    '## Ratios per server',
    '',
    ...perServer(r),
    '',
    '## Every tool',
    '',
    '| case | server | tool | median | peak RSS | ratio | target | met? |',
    '| --- | --- | --- | ---: | ---: | ---: | --- | --- |',
  ];
  for (const c of r.cases) {
    const server = c.server ?? '';
    if (c.error) {
      lines.push(
        `| ${c.title} | ${server} | — | failed: ${c.error.split('\n')[0]?.replace(/\|/g, '\\|')} | | | | |`,
      );
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
      lines.push(
        `| ${c.title} | ${server} | ${t.tool} | ${median} | ${mb(t.rssKb)} | ${ratio} | ${target} | ${met} |`,
      );
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
