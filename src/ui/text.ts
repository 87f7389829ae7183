// Text reporter: silent on success unless verbose; failures on stderr one line each; a progress
// line on stderr only when it is a TTY and CI is unset.
import { redact } from '../secrets/redact.js';
import { formatBytes, ProgressLine } from './progress.js';
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

export { formatBytes };

export class TextReporter implements Reporter {
  private plans = new Map<string, JobPlan>();
  private readonly bar: ProgressLine;

  constructor(private readonly o: TextReporterOptions) {
    this.bar = new ProgressLine(o.stderr, o.now ?? Date.now);
  }

  plan(p: JobPlan): void {
    this.plans.set(p.job, p);
    this.bar.start(p.job);
    if (this.o.verbose > 0) {
      this.o.stdout.write(
        `job ${p.job}: ${p.upload} file(s) to upload (${formatBytes(p.uploadBytes)}), ${p.delete} to delete\n`,
      );
    }
  }

  progress(job: string, doneBytes: number, doneFiles: number): void {
    if (!this.o.progress) return;
    const p = this.plans.get(job);
    this.bar.update(job, doneFiles, doneBytes, p ? { files: p.upload, bytes: p.uploadBytes } : undefined);
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

  warning(job: string, message: string): void {
    this.line(this.o.stderr, `otpbackup: job ${job}: warning: ${message}`);
  }

  info(message: string): void {
    if (this.o.verbose > 0) this.line(this.o.stdout, message);
  }

  /** Erases the progress line (call before exiting). */
  done(): void {
    this.bar.clear();
  }

  private line(out: TextOut, s: string): void {
    this.bar.clear();
    out.write(`${redact(s).replace(/[\r\n]+/g, ' ')}\n`);
  }
}
