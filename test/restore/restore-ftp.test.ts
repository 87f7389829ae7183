// Backup and restore round trip over ftp against the real ProFTPD: see scenario.ts.
import { restoreScenario, scenarios } from './scenario.js';

restoreScenario(scenarios.ftp!);
