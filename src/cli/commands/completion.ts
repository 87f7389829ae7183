// `otpbackup completion bash|zsh|fish`: prints a completion script for the shell.
import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import type { CliContext } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish'];

export function register(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      `
Examples:
  source <(otpbackup completion bash)          # in ~/.bashrc
  otpbackup completion zsh > "\${fpath[1]}/_otpbackup"
  otpbackup completion fish | source           # in ~/.config/fish/config.fish`,
    )
    .action(async (shell: string) => {
      if (!SHELLS.includes(shell))
        throw usageError(`unknown shell "${shell}"`, `use one of: ${SHELLS.join(', ')}`);
      const { completionScript } = await import('../completion.js');
      ctx.stdout.write(completionScript(program, shell));
    });
}
