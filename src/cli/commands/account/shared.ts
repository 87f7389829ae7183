// What the `account` subcommands share: the common flags, the config, and the AccountServices the
// transactions in src/accounts/ run on, built from the CLI context.
import type { AccountServices } from '../../../accounts/services.js';
import type { Config } from '../../../config/types.js';
import type { PromptLogEntry } from '../../../transport/sftp/prompts.js';
import type { CliContext } from '../../context.js';

export interface CommonOpts {
  config?: string;
  json?: boolean;
}

export async function load(ctx: CliContext, opts: CommonOpts): Promise<Config> {
  const { loadConfig } = await import('../../../config/load.js');
  return loadConfig(ctx.env, opts.config);
}

/**
 * The services of `account add` and `edit`: stores that may ask the vault passphrase on a terminal,
 * and a live test that trusts the server (pinned, known, or asked) before it logs in.
 */
export function accountServices(ctx: CliContext, opts: CommonOpts): AccountServices {
  return {
    env: ctx.env,
    ...(opts.config !== undefined ? { configPath: opts.config } : {}),
    secrets: (config) => ctx.secrets(config, { askPassphrase: true }),
    probe: async (account, pins, getSecret) => {
      const [{ establishTrust }, { probeAccount }, { openOptions }] = await Promise.all([
        import('../../../accounts/trust.js'),
        import('../../../accounts/probe.js'),
        import('../../connect.js'),
      ]);
      const ask = ctx.prompts.yesNo();
      await establishTrust(account, { env: ctx.env, pins, ...(ask ? { ask } : {}) });
      return probeAccount(account, {
        ...(await openOptions(ctx, account, {
          prompt: 'terminal',
          getSecret,
          reuseFix: '--otp-reuse allow',
        })),
      });
    },
  };
}

/** "prompt 1: "…" answered by default:code (with the code)" lines, for success and failure alike. */
export function promptLines(prompts: PromptLogEntry[]): string[] {
  return prompts.map(
    (p, i) =>
      `prompt ${i + 1}:     ${JSON.stringify(p.prompt)} answered by ${p.rule}${p.usesCode ? ' (with the code)' : ''}`,
  );
}

/** The line after a saved add or edit that was tested. */
export function testedLine(t: { fingerprint?: string; fingerprintSource?: string }): string {
  return `login and probe file OK${t.fingerprint ? `; server ${t.fingerprint} (${t.fingerprintSource})` : ''}\n`;
}
