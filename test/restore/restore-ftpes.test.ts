// Backup and restore round trip over explicit (ftpes) and implicit (ftps) FTPS against the real
// ProFTPD: see scenario.ts.
import { restoreScenario, scenarios } from './scenario.js';

restoreScenario(scenarios.ftpes!);
restoreScenario(scenarios.ftps!);
