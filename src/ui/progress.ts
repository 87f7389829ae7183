// One progress line on a TTY: files, bytes, rate and ETA, redrawn in place with \r at most every
// 100 ms. Only drawn when the caller decided the stream is interactive (TTY, CI unset, not --json).

export interface ProgressOut {
  write(chunk: string): unknown;
}

export interface ProgressTotals {
  files: number;
  bytes: number;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** "1m05s"-style durations for the ETA. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressLine {
  private started = new Map<string, number>();
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly out: ProgressOut,
    private readonly now: () => number = Date.now,
    private readonly minIntervalMs = 100,
  ) {}

  /** The text of the line (no control characters), for a job with `done` of `total`. */
  render(job: string, doneFiles: number, doneBytes: number, total: ProgressTotals | undefined): string {
    const t = this.now();
    const start = this.started.get(job) ?? t;
    const secs = (t - start) / 1000;
    const rate = secs > 0 ? doneBytes / secs : 0;
    let s = `${job}: ${doneFiles}${total ? `/${total.files}` : ''} files, ${formatBytes(doneBytes)}`;
    if (total) s += ` of ${formatBytes(total.bytes)}`;
    if (rate > 0) {
      s += `, ${formatBytes(Math.round(rate))}/s`;
      if (total && total.bytes > doneBytes)
        s += `, ETA ${formatDuration(((total.bytes - doneBytes) / rate) * 1000)}`;
    }
    return s;
  }

  /** A job starts: its rate is measured from now. */
  start(job: string): void {
    this.started.set(job, this.now());
  }

  update(job: string, doneFiles: number, doneBytes: number, total?: ProgressTotals): void {
    const t = this.now();
    if (t - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = t;
    if (!this.started.has(job)) this.started.set(job, t);
    this.out.write(`\r\x1b[2K${this.render(job, doneFiles, doneBytes, total)}`);
    this.drawn = true;
  }

  /** Erases the line (before other output, and at the end). */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
