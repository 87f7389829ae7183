// Backup and restore round trip over FTP with HOTP (ProFTPD's counter-based vhost): every command's
// login advances the counter on both sides. See scenario.ts.
import { restoreScenario, scenarios } from './scenario.js';

restoreScenario(scenarios.hotp!);
