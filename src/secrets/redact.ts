// Process-wide list of secret values in use, so anything printed can be scrubbed as a last line
// of defence. The primary defence is never to put secrets in messages in the first place.
//
// Only values that cannot be mistaken for the words of a message are masked (#14.10): masking a
// passphrase "wrong" would turn "wrong passphrase" into "*** passphrase" — garbling the message
// and telling the reader what the passphrase is. A value is masked when it has at least
// MIN_MASKED characters and is not a plain word: one made only of letters needs MIN_MASKED_WORD
// characters (longer than any word otpbackup or a server reply puts in a message, such as
// "authentication"). One-time codes (6–10 digits) are masked; shorter or word-like values are
// left alone here, and must never be interpolated into a message in the first place.

/** Values shorter than this are never masked: they match ordinary text by chance. */
export const MIN_MASKED = 6;
/** Letters-only values (they could be a word of the message) need this many characters. */
export const MIN_MASKED_WORD = 16;

const known = new Set<string>();

/** Whether redact() would mask this value (see the rule above). */
export function maskable(value: string): boolean {
  const n = [...value].length;
  if (n < MIN_MASKED) return false;
  if (/^\p{L}+$/u.test(value) && n < MIN_MASKED_WORD) return false;
  return true;
}

/** Register a secret value (password, seed, code) so redact() masks it, if maskable(). */
export function registerSecret(value: string | undefined): void {
  if (value && maskable(value)) known.add(value);
}

/** Whether `value` is (or contains) a registered secret: such a value is never handed to a child. */
export function isKnownSecret(value: string): boolean {
  for (const s of known) if (value.includes(s)) return true;
  return false;
}

/**
 * `env` without the variables that hold a secret in use (the passphrase, a password or seed read from
 * an env: reference or --…-env flag): what a child process (dbus-send, a passphrase or code command,
 * crontab) gets, so no secret otpbackup handles is handed to another program by inheritance.
 */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k === 'OTPBACKUP_PASSPHRASE' || known.has(v) || known.has(v.trim())) continue;
    out[k] = v;
  }
  return out;
}

export function redact(text: string): string {
  let out = text;
  // Longest first, so a password that contains a code is masked whole.
  for (const s of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(s)) out = out.split(s).join('***');
  }
  return out;
}

/** A masked rendering that keeps the length visible, for previews. */
export function mask(value: string, ch = '•'): string {
  return ch.repeat([...value].length);
}

export function clearSecretsForTests(): void {
  known.clear();
}
