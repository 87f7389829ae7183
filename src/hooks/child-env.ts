// The environment a hook gets: the shared childEnv() (no passphrase, no value that is a secret in
// use), less what may hold a secret not read yet in this run — otpbackup's CI variables and every
// variable an `env:` reference of the config names — and any value containing a secret.
import type { Config } from '../config/types.js';
import { childEnv, isKnownSecret } from '../secrets/redact.js';

const OWN_SECRETS = [
  'OTPBACKUP_PASSPHRASE',
  'OTPBACKUP_PASSWORD',
  'OTPBACKUP_TOTP_SECRET',
  'OTPBACKUP_OTPAUTH_URI',
];

/** Names of the variables the config's `env:` references read. */
export function envRefNames(config: Config | undefined): string[] {
  if (!config) return [];
  const out: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.startsWith('env:')) out.push(v.slice(4));
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(config.accounts);
  return out;
}

export function hookEnv(
  env: NodeJS.ProcessEnv,
  config?: Config,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const drop = new Set([...OWN_SECRETS, ...envRefNames(config)]);
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(childEnv(env))) {
    if (v === undefined || drop.has(k) || isKnownSecret(v)) continue;
    out[k] = v;
  }
  return { ...out, ...extra };
}
