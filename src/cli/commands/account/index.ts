// `otpbackup account list|show|add|edit|test|remove`. Secrets are read from environment variables
// named on the command line (never from argv itself) or typed on a terminal, stored in the keychain
// or vault, and the config gets only references. The lifecycle itself lives in src/accounts/.
import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { registerAdd } from './add.js';
import { registerEdit } from './edit.js';
import { registerList } from './list.js';
import { registerRemove } from './remove.js';
import { registerShow } from './show.js';
import { registerTest } from './test.js';

export function register(program: Command, ctx: CliContext): void {
  const account = program
    .command('account')
    .description('manage server accounts (secrets stay in the keychain or vault)')
    .addHelpText(
      'after',
      `
Examples:
  otpbackup account list
  otpbackup account show nas
  NAS_PW=… NAS_SEED=… otpbackup account add nas --url sftp://me@nas:22/backup \\
      --password-env NAS_PW --totp-secret-env NAS_SEED --host-key SHA256:…
  otpbackup account test nas
  otpbackup account edit nas --rename nas2
  otpbackup account remove nas --yes
`,
    );
  registerList(account, ctx);
  registerShow(account, ctx);
  registerRemove(account, ctx);
  registerTest(account, ctx);
  registerEdit(account, ctx);
  registerAdd(account, ctx);
}
