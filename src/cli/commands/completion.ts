// `otpbackup completion bash|zsh|fish`: prints a completion script for the shell.
import type { Command } from 'commander';
import { usageError } from '../../errors.js';
import type { CliContext } from '../context.js';

const SHELLS = ['bash', 'zsh', 'fish', 'powershell'];

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
  otpbackup completion fish | source           # in ~/.config/fish/config.fish
  otpbackup completion powershell | Out-String | Invoke-Expression   # in $PROFILE`,
    )
    .action(async (shell: string) => {
      if (!SHELLS.includes(shell))
        throw usageError(`unknown shell "${shell}"`, `use one of: ${SHELLS.join(', ')}`);
      const { completionScript } = await import('../completion.js');
      ctx.stdout.write(completionScript(program, shell));
    });
  program
    .command('man')
    .description('print the otpbackup(1) manual page (roff), made from the command tree')
    .addHelpText(
      'after',
      '\nExamples:\n  otpbackup man | man -l -\n  otpbackup man > ~/.local/share/man/man1/otpbackup.1',
    )
    .action(async () => {
      const [{ manPage }, { VERSION }, { EXIT_CODES }] = await Promise.all([
        import('../completion.js'),
        import('../version.js'),
        import('../../errors.js'),
      ]);
      ctx.stdout.write(manPage(program, VERSION, EXIT_CODES));
    });
}
