// Interactive `account add` and `account edit` on a terminal: asks for what the flags did not give
// (add) or every field pre-filled with the current value (edit). Secrets are typed masked and handed
// on in memory only (never argv, never the environment of another process); the answers become an
// AccountInput in cli/commands/account/flags.ts. Ctrl-C at any prompt ends with 'interrupted'
// (exit 130) before anything is stored.
import { existsSync } from 'node:fs';
import type { Account, Protocol } from '../config/types.js';
import { OtpBackupError } from '../errors.js';

import { readQrFile } from '../otp/qr.js';

export interface InteractiveAnswers {
  name: string;
  /** protocol://user@host:port, without a path: the directory is `remoteDir`. */
  url: string;
  protocol: Protocol;
  host: string;
  port: string;
  user: string;
  /** As the config holds it: "." (the login directory), relative below it, or absolute. */
  remoteDir: string;
  password?: string;
  /** Base32 seed or otpauth:// URI, as typed. */
  otp: string;
  isUri: boolean;
  /** The seed question was answered with the path of a QR-code image. */
  qrFile?: string;
  algorithm?: string;
  digits?: string;
  period?: string;
  template: string;
}

/** An existing .png/.jpg/.jpeg file: the seed answer names a QR-code image. */
function isImagePath(v: string): boolean {
  const p = v.trim();
  return /\.(png|jpe?g)$/i.test(p) && existsSync(p);
}

const DEFAULT_PORTS: Record<Protocol, number> = { sftp: 22, ftps: 21, 'ftps-implicit': 990, ftp: 21 };
const SCHEMES: Record<Protocol, string> = {
  sftp: 'sftp',
  ftps: 'ftpes',
  'ftps-implicit': 'ftps',
  ftp: 'ftp',
};

/** The remote directory question, saying which rule applies (src/config/url.ts has the URL forms). */
export function remoteDirQuestion(protocol: Protocol): string {
  return protocol === 'sftp'
    ? 'Remote directory (Enter: your home directory; relative or ~/…: below it; /…: absolute path on the server):'
    : "Remote directory (Enter: the login directory; relative: below it; /…: from the server's root):";
}

function validDir(v: string): true | string {
  return /[\r\n\0]/.test(v) ? 'no line breaks or NUL' : true;
}

function isExitPrompt(e: unknown): boolean {
  return e instanceof Error && (e.name === 'ExitPromptError' || e.name === 'AbortPromptError');
}

/** Runs fn, turning the prompt library's Ctrl-C into our 'interrupted' error. */
export async function interruptible<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isExitPrompt(e)) throw new OtpBackupError('interrupted', 'interrupted; nothing was saved');
    throw e;
  }
}

/** A preset, or a custom template typed with a masked live preview (secrets shown as dots). */
async function askTemplate(
  choices: { name: string; value: string }[],
  lengths: Record<string, number>,
  current?: string,
): Promise<string> {
  const [{ input, select }, otp] = await Promise.all([
    import('@inquirer/prompts'),
    import('../otp/index.js'),
  ]);
  const CUSTOM = '\u0000custom';
  const picked = await select({
    message: 'What the server expects as the password:',
    choices: [...choices, { name: 'custom: type a template', value: CUSTOM }],
    ...(current !== undefined ? { default: current } : {}),
  });
  if (picked !== CUSTOM) return picked;
  const preview = (v: string) => {
    try {
      otp.parseTemplate(v);
      return otp.previewTemplate(v, lengths);
    } catch {
      return '';
    }
  };
  return input({
    message: 'Template (${PASSWORD}, ${TOTP}, ${USER}, text):',
    ...(current !== undefined ? { default: current } : {}),
    transformer: (v, { isFinal }) => (isFinal ? v : `${v}   ${preview(v)}`),
    validate: (v) => {
      try {
        otp.parseTemplate(v);
        return true;
      } catch (e) {
        return (e as Error).message;
      }
    },
  });
}

/**
 * Asks for a new account. With `previous` (the answers of an attempt whose test failed) every question
 * has that answer as its default, and Enter at a secret keeps the one typed before.
 */
export async function askAccount(given: {
  name?: string;
  template?: string;
  previous?: InteractiveAnswers;
}): Promise<InteractiveAnswers> {
  const prev = given.previous;
  const [{ input, password, select }, otp, { NAME_RE }] = await Promise.all([
    import('@inquirer/prompts'),
    import('../otp/index.js'),
    import('../config/schema.js'),
  ]);
  return interruptible(async () => {
    const name =
      (prev ? undefined : given.name) ??
      (await input({
        message: 'Account name:',
        ...(prev ? { default: prev.name } : {}),
        validate: (v) => NAME_RE.test(v) || 'letters, digits, ".", "_" and "-"',
      }));
    const protocol = await select<Protocol>({
      message: 'Protocol:',
      choices: [
        { name: 'SFTP (SSH)', value: 'sftp' },
        { name: 'FTPS (explicit, AUTH TLS)', value: 'ftps' },
        { name: 'FTPS (implicit, port 990)', value: 'ftps-implicit' },
        { name: 'FTP (unencrypted)', value: 'ftp' },
      ],
      ...(prev ? { default: prev.protocol } : {}),
    });
    const host = await input({
      message: 'Host:',
      ...(prev ? { default: prev.host } : {}),
      validate: (v) => /^[\w.:-]+$/.test(v) || 'a host name or address',
    });
    const port = await input({
      message: 'Port:',
      default: prev && prev.protocol === protocol ? prev.port : String(DEFAULT_PORTS[protocol]),
      validate: (v) => (/^\d+$/.test(v) && +v > 0 && +v < 65536) || 'a port number',
    });
    const user = await input({
      message: 'User:',
      ...(prev ? { default: prev.user } : {}),
      validate: (v) => /^[^\s@/:]+$/.test(v) || 'a user name',
    });
    const remoteDir = await input({
      message: remoteDirQuestion(protocol),
      default: prev?.remoteDir ?? '.',
      validate: validDir,
    });
    const pw =
      (await askPasswordTwice(
        password,
        prev?.password !== undefined
          ? 'Password (empty keeps the one typed before):'
          : 'Password (empty if the code alone is the password):',
      )) ?? prev?.password;
    const typedSeed = await password({
      message: prev
        ? 'OTP: Base32 seed, otpauth:// URI or QR-code image path (empty keeps the one given before):'
        : 'OTP: Base32 seed, otpauth:// URI, or the path of a QR-code image (PNG/JPEG):',
      mask: true,
      validate: (v) => {
        if (prev && !v.trim()) return true;
        if (isImagePath(v)) return true;
        try {
          if (/^otpauth:\/\//i.test(v.trim())) otp.parseOtpauthUri(v.trim());
          else otp.parseSecret(v);
          return true;
        } catch (e) {
          return (e as Error).message;
        }
      },
    });
    const seed = prev && !typedSeed.trim() ? (prev.qrFile ?? prev.otp) : typedSeed;
    const qrFile = isImagePath(seed) ? seed.trim() : undefined;
    const isUri = /^otpauth:\/\//i.test(seed.trim());
    const out: InteractiveAnswers = {
      name,
      // No path: a typed directory would be read by each scheme's URL rule (absolute for SFTP).
      url: `${SCHEMES[protocol]}://${encodeURIComponent(user)}@${host.includes(':') ? `[${host}]` : host}:${port}`,
      protocol,
      host,
      port,
      user,
      remoteDir: remoteDir.trim() || '.',
      otp: seed.trim(),
      isUri,
      template: given.template ?? '',
    };
    if (pw !== undefined) out.password = pw;
    if (qrFile) out.qrFile = qrFile;
    let digits = 6;
    if (qrFile) {
      // Decoded now, so a bad image is reported before more questions; the file is read again on save.
      const text = await readQrFile(qrFile);
      if (/^otpauth:\/\//i.test(text)) digits = otp.parseOtpauthUri(text).digits;
    } else if (!isUri) {
      out.algorithm = await select({
        message: 'Algorithm:',
        choices: ALGORITHM_CHOICES,
        ...(prev?.algorithm ? { default: prev.algorithm as 'sha1' | 'sha256' | 'sha512' } : {}),
      });
      out.digits = await input({
        message: 'Digits:',
        default: prev?.digits ?? '6',
        validate: (v) => otp.DIGITS.includes(Number(v)) || otp.DIGITS_TEXT,
      });
      out.period = await input({
        message: 'Period (seconds):',
        default: prev?.period ?? '30',
        validate: (v) => /^\d+$/.test(v) || 'seconds',
      });
      digits = Number(out.digits);
    } else digits = otp.parseOtpauthUri(out.otp).digits;
    if (!given.template) {
      const lengths = {
        PASSWORD: pw?.length ?? 8,
        TOTP: digits,
        OTP: digits,
        HOTP: digits,
        USER: user.length,
      };
      const presets = otp.TEMPLATE_PRESETS.filter(
        (p) => pw !== undefined || !p.template.includes('${PASSWORD}'),
      );
      const choices = presets.map((p) => ({
        name: `${p.description}   ${otp.previewTemplate(p.template, lengths)}`,
        value: p.template,
      }));
      if (prev?.template && !choices.some((c) => c.value === prev.template))
        choices.unshift({ name: `as before: ${prev.template}`, value: prev.template });
      out.template = await askTemplate(choices, lengths, prev?.template || undefined);
    }
    return out;
  });
}

export interface EditAnswers {
  name: string;
  url: string;
  remoteDir: string;
  /** Undefined: keep the stored password. */
  password?: string;
  /** Undefined: keep the stored seed. */
  otp?: string;
  isUri: boolean;
  algorithm?: string;
  digits?: string;
  period?: string;
  template: string;
}

/** `account edit` on a terminal: every question pre-filled with the current value (Enter keeps it). */
export async function askAccountEdit(current: Account): Promise<EditAnswers> {
  const [{ input, password, select }, otp, { NAME_RE }] = await Promise.all([
    import('@inquirer/prompts'),
    import('../otp/index.js'),
    import('../config/schema.js'),
  ]);
  return interruptible(async () => {
    const name = await input({
      message: 'Account name:',
      default: current.name,
      validate: (v) => NAME_RE.test(v) || 'letters, digits, ".", "_" and "-"',
    });
    const protocols: { name: string; value: Protocol }[] = [
      { name: 'SFTP (SSH)', value: 'sftp' },
      { name: 'FTPS (explicit, AUTH TLS)', value: 'ftps' },
      { name: 'FTPS (implicit, port 990)', value: 'ftps-implicit' },
      { name: 'FTP (unencrypted)', value: 'ftp' },
    ];
    const protocol = await select<Protocol>({
      message: 'Protocol:',
      choices: protocols,
      default: current.protocol,
    });
    const host = await input({
      message: 'Host:',
      default: current.host,
      validate: (v) => /^[\w.:-]+$/.test(v) || 'a host name or address',
    });
    const port = await input({
      message: 'Port:',
      default: String(protocol === current.protocol ? current.port : DEFAULT_PORTS[protocol]),
      validate: (v) => (/^\d+$/.test(v) && +v > 0 && +v < 65536) || 'a port number',
    });
    const user = await input({
      message: 'User:',
      default: current.user,
      validate: (v) => /^[^\s@/:]+$/.test(v) || 'a user name',
    });
    const remoteDir = await input({
      message: remoteDirQuestion(protocol),
      default: current.remoteDir,
      validate: validDir,
    });
    const pw = await askPasswordTwice(
      password,
      `Password (empty keeps ${current.password ? 'the stored one' : 'none'}):`,
    );
    const seed = (
      await password({
        message: 'OTP: new Base32 seed or otpauth:// URI (empty keeps the current one):',
        mask: true,
        validate: (v) => {
          if (!v.trim()) return true;
          try {
            if (/^otpauth:\/\//i.test(v.trim())) otp.parseOtpauthUri(v.trim());
            else otp.parseSecret(v);
            return true;
          } catch (e) {
            return (e as Error).message;
          }
        },
      })
    ).trim();
    const isUri = /^otpauth:\/\//i.test(seed);
    const out: EditAnswers = {
      name,
      // No path in the URL: the remote directory is passed as it was typed (relative or absolute).
      url: `${SCHEMES[protocol]}://${encodeURIComponent(user)}@${host.includes(':') ? `[${host}]` : host}:${port}`,
      remoteDir,
      isUri,
      template: current.template,
    };
    if (pw !== undefined) out.password = pw;
    if (seed) out.otp = seed;
    let digits = current.otp.digits;
    const computed = current.otp.type === 'totp' || current.otp.type === 'hotp' || seed !== '';
    if (computed && !isUri) {
      out.algorithm = await select({
        message: 'Algorithm:',
        default: current.otp.algorithm,
        choices: ALGORITHM_CHOICES,
      });
      out.digits = await input({
        message: 'Digits:',
        default: String(current.otp.digits),
        validate: (v) => otp.DIGITS.includes(Number(v)) || otp.DIGITS_TEXT,
      });
      out.period = await input({
        message: 'Period (seconds):',
        default: String(current.otp.period),
        validate: (v) => /^\d+$/.test(v) || 'seconds',
      });
      digits = Number(out.digits);
    } else if (isUri) digits = otp.parseOtpauthUri(seed).digits;
    const hasPassword = pw !== undefined || current.password !== undefined;
    const lengths = { PASSWORD: pw?.length ?? 8, TOTP: digits, OTP: digits, HOTP: digits, USER: user.length };
    const presets = otp.TEMPLATE_PRESETS.filter((p) => hasPassword || !p.template.includes('${PASSWORD}'));
    const choices = presets.map((p) => ({
      name: `${p.description}   ${otp.previewTemplate(p.template, lengths)}`,
      value: p.template,
    }));
    if (!choices.some((c) => c.value === current.template))
      choices.unshift({ name: `keep ${current.template}`, value: current.template });
    out.template = await askTemplate(choices, lengths, current.template);
    return out;
  });
}

type PasswordPrompt = (opts: { message: string; mask: boolean }) => Promise<string>;

/** A masked password typed twice until both agree; empty input means none (undefined). */
async function askPasswordTwice(password: PasswordPrompt, message: string): Promise<string | undefined> {
  for (;;) {
    const a = await password({ message, mask: true });
    if (!a) return undefined;
    if ((await password({ message: 'Repeat the password:', mask: true })) === a) return a;
    process.stderr.write('The passwords differ; try again.\n');
  }
}

const ALGORITHM_CHOICES = [
  { name: 'SHA-1 (most servers)', value: 'sha1' },
  { name: 'SHA-256', value: 'sha256' },
  { name: 'SHA-512', value: 'sha512' },
] as const;
