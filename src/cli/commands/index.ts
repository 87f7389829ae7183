// Every command registers here. Command modules are thin; heavy modules are imported inside actions
// so that `otpbackup run` with nothing due starts fast.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerCommands(program: Command, ctx: CliContext): void {
  void program;
  void ctx;
}
