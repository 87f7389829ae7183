// Backup and restore round trip over sftp against the real ProFTPD: see scenario.ts.
import { restoreScenario, scenarios } from './scenario.js';

restoreScenario(scenarios.sftp!);
