// A cache of the parsed and validated config, so that `otpbackup run` with nothing due needs
// neither the YAML parser nor the schema (with its cron parser): together they are most of the
// start-up time.
//
// Keyed by the config's path and its whole text (a few KB, compared as a string: cheaper than
// loading node:crypto to hash it), not by stat fields: an edit within the file system's timestamp
// granularity, or `cp -p` of an older file, keeps size and mtime, and a stale config must never
// be used. The code that
// produced the entry is part of the key too (otpbackup's version and the schema module's
// size+mtime), so a changed schema re-validates. The config holds references, never secret
// values, so neither does the cache; it is written atomically with mode 0600 all the same.
// Any unreadable, corrupt or foreign cache file is ignored and rewritten.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../cli/version.js';
import { OtpBackupError } from '../errors.js';
import { configPath, stateDir } from './paths.js';
import { writeFileAtomic } from './state-file.js';
import type { Config } from './types.js';

const FORMAT = 1;

interface CacheFile {
  format: number;
  code: string;
  path: string;
  text: string;
  config: Config;
}

/** Identity of the code that validates: a cache written by other code is not trusted. */
let codeKey: string | undefined;
function codeIdentity(): string {
  if (codeKey !== undefined) return codeKey;
  let schema = '';
  for (const ext of ['.js', '.ts']) {
    try {
      const st = statSync(fileURLToPath(new URL(`./schema${ext}`, import.meta.url)));
      schema = `${st.size}:${st.mtimeMs}`;
      break;
    } catch {}
  }
  codeKey = `${VERSION}/${schema}`;
  return codeKey;
}

/** FNV-1a: only spreads paths over file names; the path itself is checked inside the file. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** One cache file per config path, so `--config a` and `--config b` do not evict each other. */
export function configCachePath(env: NodeJS.ProcessEnv, path: string): string {
  return join(stateDir(env), 'config-cache', `${fnv1a(path)}.json`);
}

/** The config text, or undefined when there is no file (first run: an empty config). */
export async function readConfigText(path: string): Promise<string | undefined> {
  try {
    // Sync: one small file; a thread-pool round trip per call costs more at start-up.
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new OtpBackupError('config', `cannot read config file ${path}: ${code ?? (e as Error).message}`, {
      hint: code === 'EACCES' ? 'check the file permissions' : 'check the --config path',
    });
  }
}

function readCache(file: string, path: string, text: string): Config | undefined {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as Partial<CacheFile>;
    if (
      c.format === FORMAT &&
      c.code === codeIdentity() &&
      c.path === path &&
      c.text === text &&
      typeof c.config === 'object' &&
      c.config !== null &&
      typeof c.config.jobs === 'object' &&
      typeof c.config.accounts === 'object' &&
      c.config.path === path
    ) {
      return c.config;
    }
  } catch {}
  return undefined;
}

/**
 * loadConfig through the cache: on a miss `parse` (YAML + schema, which throws the usual config
 * error listing every problem) decides, and only a valid config is cached.
 */
export async function loadConfigCached(
  env: NodeJS.ProcessEnv,
  override: string | undefined,
  parse?: (text: string, path: string) => Config,
): Promise<Config> {
  const path = configPath(env, override);
  const text = await readConfigText(path);
  if (text === undefined) return { path, accounts: {}, jobs: {} };
  const file = configCachePath(env, path);
  const hit = readCache(file, path, text);
  if (hit) return hit;
  const parseConfig = parse ?? (await import('./load.js')).parseConfig;
  const config = parseConfig(text, path);
  const entry: CacheFile = { format: FORMAT, code: codeIdentity(), path, text, config };
  // Best effort: a read-only state directory only costs the next run the parse.
  await writeFileAtomic(file, JSON.stringify(entry)).catch(() => {});
  return config;
}
