// Text reporter: silent on success unless verbose; failures on stderr one line each; a progress
// line on stderr only when it is a TTY and CI is unset.
import { redact } from '../secrets/redact.js';
import type { FileFailure, JobPlan, Reporter } from './reporter.js';

export interface TextOut {
  write(chunk: string): unknown;
}

export interface TextReporterOptions {
  stdout: TextOut;
  stderr: TextOut;
  verbose: number;
  /** Draw a progress line on stderr. */
  progress: boolean;
  now?: () => number;
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

export class TextReporter implements Reporter {
  private plans = new Map<string, JobPlan>();
  private lastDraw = 0;
  private drawn = false;
  private readonly now: () => number;

  constructor(private readonly o: TextReporterOptions) {
    this.now = o.now ?? Date.now;
  }

  plan(p: JobPlan): void {
    this.plans.set(p.job, p);
    if (this.o.verbose > 0) {
      this.o.stdout.write(
        `job ${p.job}: ${p.upload} file(s) to upload (${formatBytes(p.uploadBytes)}), ${p.delete} to delete\n`,
      );
    }
  }

  progress(job: string, doneBytes: number, doneFiles: number): void {
    if (!this.o.progress) return;
    const t = this.now();
    if (t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const p = this.plans.get(job);
    const total = p ? ` of ${p.upload} (${formatBytes(doneBytes)} of ${formatBytes(p.uploadBytes)})` : '';
    this.o.stderr.write(`\r\x1b[2K${job}: ${doneFiles}${total}`);
    this.drawn = true;
  }

  fileDone(job: string, rel: string, bytes: number): void {
    if (this.o.verbose > 1) this.line(this.o.stdout, `${job}: uploaded ${rel} (${formatBytes(bytes)})`);
  }

  fileFailed(job: string, f: FileFailure): void {
    this.line(this.o.stderr, `otpbackup: job ${job}: ${f.path}: ${f.reason}`);
  }

  skipped(job: string, f: FileFailure): void {
    if (this.o.verbose > 0) this.line(this.o.stdout, `${job}: skipped ${f.path}: ${f.reason}`);
  }

  info(message: string): void {
    if (this.o.verbose > 0) this.line(this.o.stdout, message);
  }

  /** Erases the progress line (call before exiting). */
  done(): void {
    if (this.drawn) this.o.stderr.write('\r\x1b[2K');
    this.drawn = false;
  }

  private line(out: TextOut, s: string): void {
    if (this.drawn) {
      this.o.stderr.write('\r\x1b[2K');
      this.drawn = false;
    }
    out.write(`${redact(s).replace(/[\r\n]+/g, ' ')}\n`);
  }
}
