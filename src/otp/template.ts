// Login templates: how the password sent to the server is assembled from the account password and
// the one-time code, e.g. "${PASSWORD};${TOTP}". Syntax: ${NAME} or $<NAME>; "$$" is a literal "$".
// A lone "$" is an error rather than literal text, so "$TOTP" cannot silently send the word TOTP.
import { OtpBackupError } from '../errors.js';

export type TemplateVar = 'PASSWORD' | 'TOTP' | 'OTP' | 'HOTP' | 'USER';

export const TEMPLATE_VARS: readonly TemplateVar[] = ['PASSWORD', 'TOTP', 'OTP', 'HOTP', 'USER'];
const CODE_VARS: readonly TemplateVar[] = ['TOTP', 'OTP', 'HOTP'];

export interface ParsedTemplate {
  text: string;
  /** Variables used, each once, in order of first use. */
  variables: TemplateVar[];
  /** False means the server gets no one-time code: callers warn. */
  usesCode: boolean;
  usesPassword: boolean;
}

export type TemplatePart = { literal: string } | { variable: TemplateVar };

/** Sources (the AnyFileBackup seed) list these three; anything else is a custom template. */
export const TEMPLATE_PRESETS: readonly { name: string; template: string; description: string }[] = [
  {
    name: 'password+otp',
    template: '${PASSWORD}${OTP}',
    description: 'password immediately followed by the code',
  },
  {
    name: 'password;totp',
    template: '${PASSWORD};${TOTP}',
    description: 'password, a semicolon, then the code',
  },
  { name: 'totp', template: '${TOTP}', description: 'the code alone is the password' },
];

const KNOWN = `known variables: ${TEMPLATE_VARS.join(', ')}`;

function templateError(message: string, hint: string): OtpBackupError {
  return new OtpBackupError('config', `template: ${message}`, { hint });
}

function checkName(name: string, position: number): TemplateVar {
  if ((TEMPLATE_VARS as readonly string[]).includes(name)) return name as TemplateVar;
  if (name === '') throw templateError(`empty variable name at position ${position}`, KNOWN);
  const upper = name.trim().toUpperCase();
  const hint = (TEMPLATE_VARS as readonly string[]).includes(upper)
    ? `variable names are upper case: \${${upper}}`
    : 'write $$ for a literal "$"';
  throw templateError(`unknown variable "${name}" at position ${position} (${KNOWN})`, hint);
}

/** Splits a template into literal text and variables. Positions in errors are 1-based characters. */
export function templateParts(template: string): TemplatePart[] {
  const chars = [...template];
  const parts: TemplatePart[] = [];
  let literal = '';
  const flush = () => {
    if (literal) parts.push({ literal });
    literal = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch !== '$') {
      literal += ch;
      continue;
    }
    const next = chars[i + 1];
    if (next === '$') {
      literal += '$';
      i++;
      continue;
    }
    const close = next === '{' ? '}' : next === '<' ? '>' : undefined;
    if (!close) {
      throw templateError(
        `"$" at position ${i + 1} must start \${NAME} or $<NAME>`,
        'write $$ for a literal "$"',
      );
    }
    const end = chars.indexOf(close, i + 2);
    // "${PASSWORD;${TOTP}" is an unclosed variable, not one named "PASSWORD;${TOTP".
    if (end < 0 || chars.slice(i + 2, end).some((c) => c === '$' || c === '{' || c === '<')) {
      throw templateError(`"$${next}" at position ${i + 1} is not closed with "${close}"`, KNOWN);
    }
    flush();
    parts.push({ variable: checkName(chars.slice(i + 2, end).join(''), i + 1) });
    i = end;
  }
  flush();
  return parts;
}

export function parseTemplate(template: string): ParsedTemplate {
  const variables: TemplateVar[] = [];
  for (const p of templateParts(template)) {
    if ('variable' in p && !variables.includes(p.variable)) variables.push(p.variable);
  }
  return {
    text: template,
    variables,
    usesCode: variables.some((v) => CODE_VARS.includes(v)),
    usesPassword: variables.includes('PASSWORD'),
  };
}

/**
 * Substitutes values. A variable without a value is an error (naming the variable, never a value),
 * as is a line break or NUL anywhere in the result: FTP cannot send them and they would inject commands.
 */
export function expandTemplate(template: string, vars: Partial<Record<TemplateVar, string>>): string {
  let out = '';
  for (const p of templateParts(template)) {
    if ('literal' in p) {
      if (/[\r\n\0]/.test(p.literal)) {
        throw templateError('contains a line break or NUL character', 'remove it from the template');
      }
      out += p.literal;
      continue;
    }
    const v = vars[p.variable];
    if (v === undefined) {
      const hint =
        p.variable === 'PASSWORD'
          ? 'set a password for the account, or drop ${PASSWORD} from the template'
          : p.variable === 'TOTP' || p.variable === 'HOTP'
            ? "${OTP} is the account's code whichever kind; ${TOTP} and ${HOTP} need an account of that type"
            : `give a value for \${${p.variable}}`;
      throw templateError(`no value for \${${p.variable}}`, hint);
    }
    if (/[\r\n\0]/.test(v)) {
      throw new OtpBackupError('secret', `\${${p.variable}} contains a line break or NUL character`, {
        hint: 'such characters cannot be sent in a login; check the stored value',
      });
    }
    out += v;
  }
  return out;
}

/** Default lengths for previews: a typical password and a 6-digit code. */
const DEFAULT_LENGTHS: Record<TemplateVar, number> = { PASSWORD: 8, TOTP: 6, OTP: 6, HOTP: 6, USER: 5 };

export interface PreviewSegment {
  /** Variable name, or undefined for literal text. */
  variable?: TemplateVar;
  /** Literal text (shown as is) or the mask. */
  shown: string;
  /** 1-based character position where the segment starts in the rendering. */
  start: number;
  length: number;
}

/** The masked rendering split into segments, for a legend. */
export function previewSegments(
  template: string,
  lengths: Partial<Record<TemplateVar, number>>,
  maskChar = '•',
): PreviewSegment[] {
  const out: PreviewSegment[] = [];
  let pos = 1;
  for (const p of templateParts(template)) {
    const seg: PreviewSegment =
      'literal' in p
        ? { shown: p.literal, start: pos, length: [...p.literal].length }
        : (() => {
            const n = Math.max(0, Math.floor(lengths[p.variable] ?? DEFAULT_LENGTHS[p.variable]));
            return { variable: p.variable, shown: maskChar.repeat(n), start: pos, length: n };
          })();
    out.push(seg);
    pos += seg.length;
  }
  return out;
}

/** Masked rendering: literal text as is, every variable as one mask character per character. */
export function previewTemplate(template: string, lengths: Partial<Record<TemplateVar, number>>): string {
  return previewSegments(template, lengths)
    .map((s) => s.shown)
    .join('');
}
