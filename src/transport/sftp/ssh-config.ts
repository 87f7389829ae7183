// The user's OpenSSH setup for sftp:// accounts: `~/.ssh/config` Host aliases (HostName, Port, User,
// IdentityFile, IdentitiesOnly, UserKnownHostsFile, ProxyJump) and ssh-agent, so `sftp://myalias/path`
// logs in the way `sftp myalias` does. Parsed with the `ssh-config` package (Host and Match blocks,
// first value wins, as OpenSSH). What the account says itself wins over the file, as ssh's own
// command line does; port 22 counts as "not said", since URLs cannot tell it from the default.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Account } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';

/** The first hop of a ProxyJump, resolved through the same config. */
export interface JumpHost {
  host: string;
  port: number;
  user: string;
  /** Private key file for the hop (publickey), if the config names one. */
  privateKey?: string;
}

export interface SshRoute {
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  knownHosts: string[];
  jump?: JumpHost;
}

type Computed = Record<string, string | string[] | undefined>;

/** `OTPBACKUP_SSH_CONFIG` (a path, or "none"), else ~/.ssh/config. */
export function sshConfigPath(env: NodeJS.ProcessEnv): string | undefined {
  const own = env.OTPBACKUP_SSH_CONFIG;
  if (own === 'none') return undefined;
  if (own) return own;
  return env.HOME ? join(env.HOME, '.ssh', 'config') : undefined;
}

function compute(path: string, host: string): Computed | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // CommonJS package; loaded only when an sftp account is opened and the file exists.
  const SSHConfig = createRequire(import.meta.url)('ssh-config') as {
    parse(t: string): { compute(h: string): Computed };
  };
  try {
    return SSHConfig.parse(text).compute(host);
  } catch (e) {
    throw new OtpBackupError('config', `${path}: cannot be read as an ssh config (${(e as Error).message})`);
  }
}

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
const all = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** OpenSSH's %-tokens and a leading ~ in paths (ssh_config(5) TOKENS). */
function expand(v: string, t: { h: string; p: number; r: string }, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? '';
  const out = v.replace(/%([%hprudn])/g, (_m, c: string) =>
    c === '%'
      ? '%'
      : c === 'h'
        ? t.h
        : c === 'p'
          ? String(t.p)
          : c === 'r'
            ? t.r
            : c === 'u'
              ? (env.USER ?? env.LOGNAME ?? '')
              : c === 'd'
                ? home
                : t.h,
  );
  return out.startsWith('~/') ? join(home, out.slice(2)) : out;
}

/** "[user@]host[:port]" → parts. */
function parseHop(spec: string): { user?: string; host: string; port?: number } {
  const m = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(spec.trim());
  if (!m) throw new OtpBackupError('config', `ProxyJump "${spec}": expected [user@]host[:port]`);
  return {
    ...(m[1] ? { user: m[1] } : {}),
    host: m[2]!.replace(/^\[(.*)\]$/, '$1'),
    ...(m[3] ? { port: Number(m[3]) } : {}),
  };
}

/** How to reach `alias`: the config's answers under the account's own. */
export function resolveRoute(
  want: { host: string; port: number; user: string; privateKey?: string },
  env: NodeJS.ProcessEnv,
  path = sshConfigPath(env),
): SshRoute {
  const c = path && existsSync(path) ? compute(path, want.host) : undefined;
  const host = first(c?.HostName)
    ? expand(first(c?.HostName)!, { h: want.host, p: 0, r: '' }, env)
    : want.host;
  const port = want.port !== 22 ? want.port : Number(first(c?.Port) ?? 22);
  const user = want.user || first(c?.User) || env.USER || env.LOGNAME || '';
  const tokens = { h: host, p: port, r: user };
  const route: SshRoute = {
    host,
    port,
    user,
    identityFiles: all(c?.IdentityFile)
      .map((f) => expand(f, tokens, env))
      .filter((f) => existsSync(f)),
    identitiesOnly: /^yes$/i.test(first(c?.IdentitiesOnly) ?? ''),
    knownHosts: all(c?.UserKnownHostsFile)
      .flatMap((f) => f.split(/\s+/))
      .filter((f) => f && f !== '/dev/null')
      .map((f) => expand(f, tokens, env)),
  };
  const jump = first(c?.ProxyJump);
  if (jump && !/^none$/i.test(jump)) {
    // One hop: "a,b" chains are not followed (see README).
    const hop = parseHop(jump.split(',')[0]!);
    const r = resolveRoute({ host: hop.host, port: hop.port ?? 22, user: hop.user ?? '' }, env, path);
    route.jump = {
      host: r.host,
      port: r.port,
      user: r.user,
      ...(r.identityFiles[0] ? { privateKey: r.identityFiles[0] } : {}),
    };
  }
  return route;
}

/**
 * The account as the SFTP transport should use it: host, port, user, key, known_hosts and jump host
 * filled in from the ssh config, and the agent socket unless IdentitiesOnly.
 */
export function withSshSetup(account: Account, env: NodeJS.ProcessEnv): Account {
  if (account.protocol !== 'sftp') return account;
  const r = resolveRoute(account, env);
  const out: Account = { ...account, host: r.host, port: r.port, user: r.user };
  if (!account.privateKey && r.identityFiles[0]) out.privateKey = r.identityFiles[0];
  if (r.knownHosts.length)
    out.trust = { ...account.trust, knownHosts: [...(account.trust.knownHosts ?? []), ...r.knownHosts] };
  if (r.jump) out.jump = r.jump;
  if (!r.identitiesOnly && env.SSH_AUTH_SOCK && existsSync(env.SSH_AUTH_SOCK)) out.agent = env.SSH_AUTH_SOCK;
  return out;
}
