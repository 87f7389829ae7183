// --json: nothing while running; one result object at the end (secrets never reach it: results
// hold paths, counts and error messages, and the whole text is redacted as a last defence).
import type { RunResult } from '../backup/types.js';
import { redact } from '../secrets/redact.js';
import type { Reporter } from './reporter.js';
import { silentReporter } from './reporter.js';

export const jsonReporter: Reporter = silentReporter;

export function formatJson(result: RunResult): string {
  return `${redact(JSON.stringify(result, null, 2))}\n`;
}
