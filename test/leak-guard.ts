// Whole-suite leak guard: every secret the test fixtures hand to the CLI, and a check that captured
// output holds none of them. The CLI helpers (test/cli/helpers.ts, test/backup/e2e-helpers.ts) call
// noteInvocation() before spawning and assertNoSecrets() on what came back, so every test that runs
// the CLI also proves it leaked nothing it was given. The registry lives for the test file's process:
// a secret given to `account add` (and stored in the vault) is still checked in a later `run`.
// One-time codes (6–8 digits) are too short to look for everywhere; targeted tests check them.
import { readFileSync } from 'node:fs';

/** Secret constants written in test files and fixtures (grep for them when adding new ones). */
export const FIXTURE_SECRETS: readonly string[] = [
  // test/servers/ftp-inprocess.ts defaults
  'Pa55-word',
  'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ',
  // test/cli, test/backup, test/transport, test/docs constants
  'hunter2-account-pw',
  'vault-pass-phrase',
  'Tty-Secret-pw-93',
  'JBSWY3DPEHPK3PXPJBSWY3DP',
  'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
  'MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U',
  'hunter2-pw',
  'pw-Secret-42',
  'qr-test-passphrase',
  'readme-test-vault-passphrase',
  'correct horse battery staple',
];

/**
 * Values that look secret but are public on purpose: the Google Authenticator example seed is
 * printed by `otpbackup code --help` and the README.
 */
const PUBLIC = new Set(['JBSWY3DPEHPK3PXP']);

/** Environment variable names whose values the fixtures use as secrets. */
const SECRET_NAME = /(^|_)(PW|PASS|PASSWD|PASSWORD|PASSPHRASE|SEED|SECRET|URI|OTPAUTH|TOKEN)(_|\d|$)/i;
/** Flags whose value names an environment variable holding a secret. */
const ENV_FLAG = /^--[a-z-]*(password|secret|uri|passphrase|seed)[a-z-]*-env$/;
/** Flags whose value is a file holding a secret. */
const FILE_FLAG = /^--[a-z-]*(password|secret|seed)[a-z-]*-file$/;

const registered = new Set<string>(FIXTURE_SECRETS);

/** Adds values (and the forms the CLI may print them in) to the registry. Short ones are ignored. */
export function registerSecrets(...values: Array<string | undefined>): void {
  for (const raw of values) {
    const v = raw?.trim();
    if (!v || v.length < 6 || /^\d{1,10}$/.test(v) || PUBLIC.has(v)) continue;
    registered.add(v);
    // A seed typed "jbsw y3dp ..." is normalised before use: its canonical form counts too.
    const canon = v.replace(/[\s-]/g, '').toUpperCase();
    if (/^[A-Z2-7]{16,}=*$/.test(canon) && !PUBLIC.has(canon)) registered.add(canon.replace(/=+$/, ''));
    // An otpauth URI carries its seed as the `secret` parameter.
    if (v.startsWith('otpauth://')) {
      try {
        registerSecrets(new URL(v).searchParams.get('secret') ?? undefined);
      } catch {}
    }
  }
}

/** Every secret known so far (for tests that also scan files). */
export function knownSecrets(): string[] {
  return [...registered];
}

/** Registers the secrets a CLI invocation is handed: secret-named env values, `--*-env` and `--*-file`. */
export function noteInvocation(
  args: readonly string[],
  env: NodeJS.ProcessEnv | Record<string, string>,
): void {
  for (const [k, v] of Object.entries(env)) if (SECRET_NAME.test(k)) registerSecrets(v);
  for (let i = 0; i + 1 < args.length; i++) {
    const flag = args[i] ?? '';
    const value = args[i + 1] ?? '';
    if (ENV_FLAG.test(flag)) registerSecrets(env[value]);
    if (FILE_FLAG.test(flag)) {
      try {
        registerSecrets(readFileSync(value, 'utf8').split('\n')[0]);
      } catch {}
    }
  }
}

/** The known secrets (plus `extra`) that occur in text. */
export function secretsIn(text: string, extra: readonly string[] = []): string[] {
  return [...registered, ...extra].filter((s) => s.length > 0 && text.includes(s));
}

/** Throws naming `where` (never the secret itself) when text contains a known secret or one of extra. */
export function assertNoSecrets(text: string, where: string, extra: readonly string[] = []): void {
  const hits = secretsIn(text, extra);
  if (hits.length) {
    const shown = hits.map((s) => `${s.slice(0, 2)}…(${s.length} chars)`).join(', ');
    throw new Error(`secret leak: ${where} contains ${hits.length} known secret(s): ${shown}`);
  }
}
