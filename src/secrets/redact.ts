// Process-wide list of secret values in use, so anything printed can be scrubbed as a last line
// of defence. The primary defence is never to put secrets in messages in the first place.

const known = new Set<string>();

/** Register a secret value (password, seed, code) so redact() masks it. Short values are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) known.add(value);
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
