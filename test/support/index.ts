// test/support: the one layer every test builds on (see docs/architecture.md, "Tests").
export { type AccountOpts, accountFixture, allowReuse, jobFixture, type Proto } from './accounts.js';
export { BIN, type CliRun, cli, ROOT, type RunResult, runSync, type Spawned, start } from './cli.js';
export { acquireProftpd, releaseProftpd, useProftpd } from './proftpd.js';
export { inCi, missingProgram, required, requireTool } from './require.js';
export { configPath, type Sandbox, sandbox } from './sandbox.js';
export { type Tty, tty } from './tty.js';
