// The questions a command may ask a person, each only when there is a terminal to ask on (else
// undefined, and the caller refuses with a hint). Replaceable in tests through CliContext.prompts.
import { usageError } from '../errors.js';
import type { PassphraseRequest } from '../secrets/vault.js';
import type { CliContext } from './context.js';
import { type CodePrompter, codePrompter } from './prompt-code.js';

export interface CliPrompts {
  /** A yes/no question (default no); needs stdin and stdout on a terminal. */
  yesNo(): ((question: string) => Promise<boolean>) | undefined;
  /**
   * The vault passphrase; needs stdin on a terminal. A new vault's passphrase is asked twice and must
   * have MIN_PASSPHRASE_LENGTH characters (add and edit ask the same way).
   */
  passphrase(): ((req: PassphraseRequest) => Promise<string>) | undefined;
  /** A one-time code for `otp.type: prompt`, masked on stderr; needs stdin and stderr on a terminal. */
  code(): CodePrompter | undefined;
}

/** The real prompts (inquirer, loaded on first question) on `ctx`'s streams. */
export function terminalPrompts(ctx: Pick<CliContext, 'stdin' | 'stdout' | 'stderr' | 'env'>): CliPrompts {
  return {
    yesNo() {
      if (!ctx.stdin.isTTY || !ctx.stdout.isTTY) return undefined;
      return async (message) => {
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message, default: false });
      };
    },
    passphrase() {
      if (!ctx.stdin.isTTY) return undefined;
      return async (req) => {
        const [{ password: ask }, { MIN_PASSPHRASE_LENGTH: min }] = await Promise.all([
          import('@inquirer/prompts'),
          import('../secrets/vault.js'),
        ]);
        if (!req.creating) return ask({ message: `Passphrase for the vault ${req.path}:`, mask: true });
        const p = await ask({
          message: `New passphrase for the vault ${req.path}:`,
          mask: true,
          validate: (v) => [...v].length >= min || `at least ${min} characters`,
        });
        if ((await ask({ message: 'Repeat the passphrase:', mask: true })) !== p)
          throw usageError('the passphrases differ', 'nothing was stored; run it again');
        return p;
      };
    },
    code: () => codePrompter(ctx as CliContext),
  };
}
