// Answers SSH keyboard-interactive prompts by what they ask, never by their position: servers differ
// (ProFTPD "Verification code: ", SFTPGo "Password: " then "Authentication code: ", PAM with
// forward_pass "Password & verification code: "), and a wrong guess burns a one-time code.
import vm from 'node:vm';
import type { Account } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import { expandTemplate, parseTemplate } from '../../otp/index.js';
import type { Credentials } from '../login.js';

export interface KbdPrompt {
  prompt: string;
  echo?: boolean;
}

/** Which rule answered which prompt; holds no answer values, so it can be printed. */
export interface PromptLogEntry {
  prompt: string;
  /** "account.prompts[0]", "default:code", "default:password", "default:combined" or "empty". */
  rule: string;
  /** Whether the answer carried the one-time code. */
  usesCode: boolean;
}

const CODE_RE = /verification|authentication code|one[- ]?time|\botp\b|token|passcode|\bcode\b/i;
const PASSWORD_RE = /\bpass(word|phrase)\b/gi;
// "One-time password" names the code, not the account password.
const hasPassword = (p: string) =>
  new RegExp(PASSWORD_RE.source, 'i').test(p.replace(/one[- ]?time\s+pass(word)?/gi, ''));
const DEFAULT_RULES: { rule: string; test: (p: string) => boolean }[] = [
  // Combined first: "Password & verification code:" must not be taken for a plain password prompt.
  { rule: 'default:combined', test: (p) => hasPassword(p) && CODE_RE.test(p.replace(PASSWORD_RE, '')) },
  { rule: 'default:code', test: (p) => CODE_RE.test(p) },
  { rule: 'default:password', test: hasPassword },
];

/**
 * User patterns run against text the server chooses, so a pattern like "(a+)+$" could backtrack for
 * hours on a long prompt. Each match runs in a vm context with a time limit, on at most MAX_PROMPT
 * characters; exceeding the limit is a config error naming the rule (riskyPattern below refuses the
 * obvious nested quantifiers up front, in the config schema and for --prompt).
 */
export const MAX_PROMPT = 1000;

/** A group that repeats something and is itself repeated: "(a+)+", "(\\w*)*", "(x|y+){2,}". */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

/**
 * Why a user prompt pattern is refused before it ever runs, if it is: nested repetition can backtrack
 * for hours (safeMatch also time-boxes every match). Used by the config schema and `--prompt`.
 */
export function riskyPattern(pattern: string): string | undefined {
  if (pattern.length > 500) return `is ${pattern.length} characters long; at most 500`;
  if (NESTED_QUANTIFIER.test(pattern)) {
    return 'repeats a group that itself repeats (like "(a+)+"), which can take exponential time; simplify it';
  }
  return undefined;
}

export const MATCH_TIMEOUT_MS = 200;
let matchContext: vm.Context | undefined;

export function safeMatch(re: RegExp, prompt: string, rule: string): boolean {
  matchContext ??= vm.createContext({});
  matchContext.re = re;
  matchContext.text = prompt.slice(0, MAX_PROMPT);
  try {
    return vm.runInContext('re.test(text)', matchContext, { timeout: MATCH_TIMEOUT_MS }) === true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    throw new OtpBackupError(
      'config',
      `${rule}.pattern took over ${MATCH_TIMEOUT_MS} ms on the prompt ${quotePrompt(prompt)} (catastrophic backtracking)`,
      { hint: 'simplify the pattern: avoid nested repetition such as (a+)+ or (.*)*' },
    );
  } finally {
    matchContext.re = undefined;
    matchContext.text = undefined;
  }
}

/** Prompt text as it can safely appear in a one-line message. */
export function quotePrompt(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

function compileRules(account: Account): { rule: string; re: RegExp; answer: string }[] {
  return (account.prompts ?? []).map((r, i) => {
    const rule = `account.prompts[${i}]`;
    try {
      return { rule, re: new RegExp(r.pattern, 'i'), answer: r.answer };
    } catch (e) {
      throw new OtpBackupError(
        'config',
        `accounts.${account.name}.prompts[${i}].pattern is not a valid regular expression: ${(e as Error).message}`,
        {
          hint: 'patterns are JavaScript regular expressions matched case-insensitively against the prompt text',
        },
      );
    }
  });
}

/**
 * Answers the prompts of one connection. Remembers what it answered: a prompt asked again in the
 * same connection means the server refused the previous answer, and resending it (a spent code)
 * would only count another failure, so that ends the attempt with an 'auth' error instead; the
 * login discipline then retries, once, with fresh credentials in a new time step.
 */
export class PromptResponder {
  private readonly answered = new Set<string>();
  private readonly rules: { rule: string; re: RegExp; answer: string }[];

  constructor(
    private readonly account: Account,
    private readonly credentials: Credentials,
    /** Where entries go; the transport passes its promptLog so it spans every attempt. */
    readonly log: PromptLogEntry[] = [],
  ) {
    this.rules = compileRules(account);
  }

  answer(prompts: KbdPrompt[]): string[] {
    if (prompts.length === 0) {
      this.log.push({ prompt: '', rule: 'empty', usesCode: false });
      return [];
    }
    return prompts.map((p) => this.answerOne(p.prompt));
  }

  private answerOne(fullPrompt: string): string {
    // Rules only ever look at the start of a prompt, so a huge one costs no more than a normal one.
    const prompt = fullPrompt.slice(0, MAX_PROMPT);
    const key = prompt.trim().toLowerCase();
    if (this.answered.has(key)) {
      throw new OtpBackupError(
        'auth',
        // No hint: loginWithDiscipline adds the full one (or the combined-prompt one, sftp.ts).
        `server asked ${quotePrompt(prompt)} again: it refused the previous answer`,
      );
    }
    const c = this.credentials;
    for (const r of this.rules) {
      if (!safeMatch(r.re, prompt, `accounts.${this.account.name}.prompts[${r.rule.replace(/\D+/g, '')}]`))
        continue;
      const t = parseTemplate(r.answer);
      if (t.usesCode) this.need(c.code, prompt, r.rule);
      if (t.usesPassword) this.need(c.password, prompt, r.rule);
      return this.record(prompt, key, r.rule, t.usesCode, expandTemplate(r.answer, c.vars));
    }
    for (const d of DEFAULT_RULES) {
      if (!d.test(prompt)) continue;
      if (d.rule === 'default:code')
        return this.record(prompt, key, d.rule, true, this.need(c.code, prompt, d.rule));
      if (d.rule === 'default:password')
        return this.record(prompt, key, d.rule, false, this.need(c.password, prompt, d.rule));
      const t = parseTemplate(this.account.template);
      if (t.usesCode) this.need(c.code, prompt, d.rule);
      if (t.usesPassword) this.need(c.password, prompt, d.rule);
      return this.record(prompt, key, d.rule, t.usesCode, expandTemplate(this.account.template, c.vars));
    }
    throw new OtpBackupError(
      'config',
      `account "${this.account.name}": the server asked ${quotePrompt(prompt)} and no rule answers it`,
      {
        hint: `add a rule under accounts.${this.account.name}.prompts, e.g. { pattern: '${escapeForHint(prompt)}', answer: '\${TOTP}' } (answers are templates: \${PASSWORD}, \${TOTP}, \${PASSWORD}\${TOTP})`,
      },
    );
  }

  private need(value: string | undefined, prompt: string, rule: string): string {
    if (value === undefined) {
      throw new OtpBackupError(
        'config',
        `account "${this.account.name}": the server asked ${quotePrompt(prompt)} (${rule}) but there is nothing to answer it with`,
        {
          hint:
            rule === 'default:password'
              ? 'set the account password reference'
              : 'check the account otp settings and password reference',
        },
      );
    }
    return value;
  }

  private record(prompt: string, key: string, rule: string, usesCode: boolean, value: string): string {
    this.answered.add(key);
    this.log.push({ prompt, rule, usesCode });
    return value;
  }
}

/**
 * A refused keyboard-interactive login where a prompt got the code alone (default:code) while the
 * account's password went nowhere: the prompt may want both. pam_oath asks "One-time password (OATH)
 * for `user': " and, with the password kept in its users file, wants password+code. The hint quotes
 * the prompt and gives the rule to try; undefined when that cannot be the cause.
 */
export function combinedPromptHint(
  entries: PromptLogEntry[],
  c: Credentials,
  passwordSent: boolean,
): string | undefined {
  if (c.password === undefined || passwordSent) return undefined;
  const codeOnly = entries.find((e) => e.rule === 'default:code');
  if (!codeOnly || entries.some((e) => e.rule !== 'default:code' && e.rule !== 'empty')) return undefined;
  // A pattern from the prompt's plain start: no quote or backtick to trip the shell.
  const plain = /^[A-Za-z0-9 ()&,.-]*/.exec(codeOnly.prompt.slice(0, 80))?.[0].trim() ?? '';
  const pattern = plain ? plain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : 'code';
  return `the server asked ${quotePrompt(codeOnly.prompt)} and got the one-time code alone; if it wants the password and the code together (pam_oath keeps the password in its users file), try the rule --prompt '${pattern}=\${PASSWORD}\${TOTP}' (upload, account add/edit)`;
}

function escapeForHint(prompt: string): string {
  // A server may send a huge prompt; the hint only needs enough of it to make a pattern.
  return prompt
    .slice(0, 200)
    .trim()
    .replace(/[:\s]+$/, '')
    .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    .replace(/'/g, "''"); // YAML single quotes: backslashes stay literal, a quote is doubled
}
