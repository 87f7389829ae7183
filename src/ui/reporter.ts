// The Reporter seam: the engine tells what happens; text, progress and JSON renderings decide what
// to show. Handlers never print secrets: they get paths, counts and error messages only.

export interface FileFailure {
  /** Relative path in the job (or the local absolute path for scan problems). */
  path: string;
  reason: string;
}

export interface JobPlan {
  job: string;
  upload: number;
  uploadBytes: number;
  delete: number;
}

export interface Reporter {
  /** Scan done; what the job is about to do. */
  plan(p: JobPlan): void;
  /** Bytes uploaded so far for the current job (progress displays). */
  progress(job: string, doneBytes: number, doneFiles: number): void;
  fileDone(job: string, rel: string, bytes: number): void;
  fileFailed(job: string, f: FileFailure): void;
  /** Something skipped on purpose (symlink, special file) — shown only when verbose. */
  skipped(job: string, f: FileFailure): void;
  info(message: string): void;
  /** Something the user should know although the job goes on (state moved aside): always shown. */
  warning?(job: string, message: string): void;
}

/** Reports nothing; the default for tests and library use. */
export const silentReporter: Reporter = {
  plan() {},
  progress() {},
  fileDone() {},
  fileFailed() {},
  skipped() {},
  info() {},
};
