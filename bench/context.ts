// What every case gets: its server, the temp dirs, and how to run the real otpbackup CLI.
import type { Cmd } from './measure.js';
import type { Scale } from './scale.js';
import type { BenchServer, ServerName } from './servers.js';

export interface BenchContext {
  /** The server of the case being run (CaseDef.server). */
  server: BenchServer;
  scale: Scale;
  /** Temp root: data, sandboxes and scratch files; removed at the end. */
  work: string;
  /** Small files: scripts, netrc, RSS outputs. Mode 0700. */
  scratch: string;
  /** Repository root (bin/otpbackup, dist/). */
  root: string;
  /** `node bin/otpbackup ARGS` with a sandboxed HOME/XDG and the given extra environment. */
  otpbackup(args: string[], env?: NodeJS.ProcessEnv): Cmd;
  /** Unique scratch file name. */
  scratchFile(name: string): string;
}

/** One timed command per run; `after` checks what landed (untimed) and cleans up. */
export interface ToolRun {
  name: string;
  /** Why the tool cannot run here; the row is reported as missing. */
  missing?: string;
  cmd(run: number): Cmd | Promise<Cmd>;
  /** Logs in with a TOTP code: not started in the last seconds of a step (see awaitFreshStep). */
  totp?: boolean;
  after?(run: number): Promise<Landed | undefined>;
}

export interface Landed {
  files: number;
  bytes: number;
}

export interface ToolStats {
  samplesMs: number[];
  medianMs: number;
  /** Highest peak RSS over the runs, KiB. */
  rssKb?: number;
  /** Median CPU time (user + system) of the tool's process tree, ms (GNU time). */
  cpuMs?: number;
  landed?: Landed;
}

/** A target, reported on the row of `tool`. */
export interface Check {
  tool: string;
  target: string;
  value: string;
  met: boolean;
}

export interface PreparedCase {
  input: Landed;
  tools: ToolRun[];
  checks(stats: Map<string, ToolStats>): Check[];
  cleanup?(): Promise<void>;
}

export interface CaseDef {
  /** "<case>/<server>", e.g. "big-sftp/sshd"; `--case big-sftp` picks it on every server. */
  id: string;
  server: ServerName;
  /** Issue #7's case number (1-5); `--case 2` picks both of case 2's protocols. */
  group: number;
  title(s: Scale): string;
  /** Fixed run count (peak-RSS cases need one long run, not several). */
  runs?: number;
  prepare(ctx: BenchContext): Promise<PreparedCase>;
}

/** Ratio otpbackup (or the variant `ours`) / peer, checked against `max`, on the peer's row. */
export function ratioCheck(
  stats: Map<string, ToolStats>,
  peer: string,
  max: number,
  oursName = 'otpbackup',
): Check[] {
  const ours = stats.get(oursName);
  const theirs = stats.get(peer);
  if (!ours || !theirs) return [];
  const r = ours.medianMs / theirs.medianMs;
  const who = oursName === 'otpbackup' ? '' : `${oursName.replace(/^otpbackup /, '')}: `;
  return [{ tool: peer, target: `${who}≤ ${max.toFixed(2)}×`, value: `${r.toFixed(2)}×`, met: r <= max }];
}
