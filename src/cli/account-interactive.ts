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

type Inquirer = typeof import('@inquirer/prompts');
type Otp = typeof import('../otp/index.js');

/** What the server questions start from: the answers before, or the account as it is. */
interface ServerDefaults {
  /** Given on the command line: not asked. */
  givenName?: string;
  name?: string;
  protocol?: Protocol;
  host?: string;
  /** The port to offer once the protocol is chosen. */
  port: (protocol: Protocol) => string;
  user?: string;
  remoteDir: string;
}

/** Name, protocol, host, port, user and remote directory; `url` has no path (see `remoteDir`). */
async function askServer(q: Inquirer, d: ServerDefaults) {
  const { NAME_RE } = await import('../config/schema.js');
  const def = <T>(v: T | undefined) => (v !== undefined ? { default: v } : {});
  const name =
    d.givenName ??
    (await q.input({
      message: 'Account name:',
      ...def(d.name),
      validate: (v) => NAME_RE.test(v) || 'letters, digits, ".", "_" and "-"',
    }));
  const protocol = await q.select<Protocol>({
    message: 'Protocol:',
    choices: PROTOCOL_CHOICES,
    ...def(d.protocol),
  });
  const host = await q.input({
    message: 'Host:',
    ...def(d.host),
    validate: (v) => /^[\w.:-]+$/.test(v) || 'a host name or address',
  });
  const port = await q.input({
    message: 'Port:',
    default: d.port(protocol),
    validate: (v) => (/^\d+$/.test(v) && +v > 0 && +v < 65536) || 'a port number',
  });
  const user = await q.input({
    message: 'User:',
    ...def(d.user),
    validate: (v) => /^[^\s@/:]+$/.test(v) || 'a user name',
  });
  const remoteDir = await q.input({
    message: remoteDirQuestion(protocol),
    default: d.remoteDir,
    validate: validDir,
  });
  // No path: a typed directory would be read by each scheme's URL rule (absolute for SFTP).
  const url = `${SCHEMES[protocol]}://${encodeURIComponent(user)}@${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { name, protocol, host, port, user, remoteDir, url };
}

/** The seed answer's check: a Base32 seed or otpauth:// URI (or, as allowed, empty or an image). */
function seedCheck(otp: Otp, allow: { empty: boolean; image: boolean }) {
  return (v: string): true | string => {
    if (allow.empty && !v.trim()) return true;
    if (allow.image && isImagePath(v)) return true;
    try {
      if (/^otpauth:\/\//i.test(v.trim())) otp.parseOtpauthUri(v.trim());
      else otp.parseSecret(v);
      return true;
    } catch (e) {
      return (e as Error).message;
    }
  };
}

/** Algorithm, digits and period of a plain seed, as typed (checked again by the flag parser). */
async function askOtpParams(
  q: Inquirer,
  otp: Otp,
  d: { algorithm?: string; digits: string; period: string },
) {
  const algorithm = await q.select({
    message: 'Algorithm:',
    choices: ALGORITHM_CHOICES,
    ...(d.algorithm ? { default: d.algorithm as 'sha1' | 'sha256' | 'sha512' } : {}),
  });
  const digits = await q.input({
    message: 'Digits:',
    default: d.digits,
    validate: (v) => otp.DIGITS.includes(Number(v)) || otp.DIGITS_TEXT,
  });
  const period = await q.input({
    message: 'Period (seconds):',
    default: d.period,
    validate: (v) => /^\d+$/.test(v) || 'seconds',
  });
  return { algorithm, digits, period };
}

/** The template presets (those with ${PASSWORD} only with a password), previewed; `keep` first. */
async function askTemplateFor(
  otp: Otp,
  o: {
    password?: string;
    hasPassword: boolean;
    digits: number;
    user: string;
    keep?: string;
    keepLabel: string;
  },
): Promise<string> {
  const d = o.digits;
  const lengths = { PASSWORD: o.password?.length ?? 8, TOTP: d, OTP: d, HOTP: d, USER: o.user.length };
  const choices = otp.TEMPLATE_PRESETS.filter(
    (p) => o.hasPassword || !p.template.includes('${PASSWORD}'),
  ).map((p) => ({
    name: `${p.description}   ${otp.previewTemplate(p.template, lengths)}`,
    value: p.template,
  }));
  if (o.keep && !choices.some((c) => c.value === o.keep))
    choices.unshift({ name: `${o.keepLabel} ${o.keep}`, value: o.keep });
  return askTemplate(choices, lengths, o.keep || undefined);
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
  const [q, otp] = await Promise.all([import('@inquirer/prompts'), import('../otp/index.js')]);
  return interruptible(async () => {
    const server = await askServer(q, {
      ...(!prev && given.name !== undefined ? { givenName: given.name } : {}),
      ...(prev ? { name: prev.name, protocol: prev.protocol, host: prev.host, user: prev.user } : {}),
      port: (p) => (prev && prev.protocol === p ? prev.port : String(DEFAULT_PORTS[p])),
      remoteDir: prev?.remoteDir ?? '.',
    });
    const pw =
      (await askPasswordTwice(
        q.password,
        prev?.password !== undefined
          ? 'Password (empty keeps the one typed before):'
          : 'Password (empty if the code alone is the password):',
      )) ?? prev?.password;
    const typedSeed = await q.password({
      message: prev
        ? 'OTP: Base32 seed, otpauth:// URI or QR-code image path (empty keeps the one given before):'
        : 'OTP: Base32 seed, otpauth:// URI, or the path of a QR-code image (PNG/JPEG):',
      mask: true,
      validate: seedCheck(otp, { empty: prev !== undefined, image: true }),
    });
    const seed = prev && !typedSeed.trim() ? (prev.qrFile ?? prev.otp) : typedSeed;
    const qrFile = isImagePath(seed) ? seed.trim() : undefined;
    const isUri = /^otpauth:\/\//i.test(seed.trim());
    const out: InteractiveAnswers = {
      name: server.name,
      url: server.url,
      protocol: server.protocol,
      host: server.host,
      port: server.port,
      user: server.user,
      remoteDir: server.remoteDir.trim() || '.',
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
      Object.assign(
        out,
        await askOtpParams(q, otp, {
          ...(prev?.algorithm ? { algorithm: prev.algorithm } : {}),
          digits: prev?.digits ?? '6',
          period: prev?.period ?? '30',
        }),
      );
      digits = Number(out.digits);
    } else digits = otp.parseOtpauthUri(out.otp).digits;
    if (!given.template)
      out.template = await askTemplateFor(otp, {
        ...(pw !== undefined ? { password: pw } : {}),
        hasPassword: pw !== undefined,
        digits,
        user: server.user,
        ...(prev?.template ? { keep: prev.template } : {}),
        keepLabel: 'as before:',
      });
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
  const [q, otp] = await Promise.all([import('@inquirer/prompts'), import('../otp/index.js')]);
  return interruptible(async () => {
    const server = await askServer(q, {
      name: current.name,
      protocol: current.protocol,
      host: current.host,
      port: (p) => String(p === current.protocol ? current.port : DEFAULT_PORTS[p]),
      user: current.user,
      remoteDir: current.remoteDir,
    });
    const pw = await askPasswordTwice(
      q.password,
      `Password (empty keeps ${current.password ? 'the stored one' : 'none'}):`,
    );
    const seed = (
      await q.password({
        message: 'OTP: new Base32 seed or otpauth:// URI (empty keeps the current one):',
        mask: true,
        validate: seedCheck(otp, { empty: true, image: false }),
      })
    ).trim();
    const isUri = /^otpauth:\/\//i.test(seed);
    const out: EditAnswers = {
      name: server.name,
      // The remote directory is passed as it was typed (relative or absolute).
      url: server.url,
      remoteDir: server.remoteDir,
      isUri,
      template: current.template,
    };
    if (pw !== undefined) out.password = pw;
    if (seed) out.otp = seed;
    let digits = current.otp.digits;
    const computed = current.otp.type === 'totp' || current.otp.type === 'hotp' || seed !== '';
    if (computed && !isUri) {
      Object.assign(
        out,
        await askOtpParams(q, otp, {
          algorithm: current.otp.algorithm,
          digits: String(current.otp.digits),
          period: String(current.otp.period),
        }),
      );
      digits = Number(out.digits);
    } else if (isUri) digits = otp.parseOtpauthUri(seed).digits;
    out.template = await askTemplateFor(otp, {
      ...(pw !== undefined ? { password: pw } : {}),
      hasPassword: pw !== undefined || current.password !== undefined,
      digits,
      user: server.user,
      keep: current.template,
      keepLabel: 'keep',
    });
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

const PROTOCOL_CHOICES: { name: string; value: Protocol }[] = [
  { name: 'SFTP (SSH)', value: 'sftp' },
  { name: 'FTPS (explicit, AUTH TLS)', value: 'ftps' },
  { name: 'FTPS (implicit, port 990)', value: 'ftps-implicit' },
  { name: 'FTP (unencrypted)', value: 'ftp' },
];

const ALGORITHM_CHOICES = [
  { name: 'SHA-1 (most servers)', value: 'sha1' },
  { name: 'SHA-256', value: 'sha256' },
  { name: 'SHA-512', value: 'sha512' },
] as const;
