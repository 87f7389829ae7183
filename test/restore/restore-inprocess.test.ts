// Backup and restore round trip over SFTP against the in-process SFTPGo-style and pam-style servers
// (test/servers/ssh-inprocess.ts, OpenSSH's sftp-server behind them): see scenario.ts.
import { restoreScenario, scenarios } from './scenario.js';

restoreScenario(scenarios.sftpgo!);
restoreScenario(scenarios.pam!);
