// Every command registers here. Command modules are thin; heavy modules are imported inside actions
// so that `otpbackup run` with nothing due starts fast.
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { register as registerAccount } from './account/index.js';
import { register as registerCode } from './code.js';
import { register as registerCompletion } from './completion.js';
import { register as registerDownload } from './download.js';
import { register as registerJob } from './job.js';
import { register as registerLs } from './ls.js';
import { register as registerRestore } from './restore.js';
import { register as registerRun } from './run.js';
import { register as registerSchedule } from './schedule.js';
import { register as registerStatus } from './status.js';
import { register as registerTemplate } from './template.js';
import { register as registerUpload } from './upload.js';
import { register as registerVerify } from './verify.js';
import { register as registerWatch } from './watch.js';

export function registerCommands(program: Command, ctx: CliContext): void {
  registerAccount(program, ctx);
  registerCode(program, ctx);
  registerCompletion(program, ctx);
  registerDownload(program, ctx);
  registerJob(program, ctx);
  registerLs(program, ctx);
  registerRestore(program, ctx);
  registerRun(program, ctx);
  registerSchedule(program, ctx);
  registerStatus(program, ctx);
  registerTemplate(program, ctx);
  registerUpload(program, ctx);
  registerVerify(program, ctx);
  registerWatch(program, ctx);
}
