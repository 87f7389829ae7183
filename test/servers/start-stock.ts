// Manual/benchmark use: `npx tsx test/servers/start-stock.ts sshd|vsftpd [--keep]` starts stock
// OpenSSH sshd or vsftpd on loopback (root only), prints ports, users (throwaway passwords and seeds)
// and paths as JSON on one line, and stops (removing its users) on SIGINT/SIGTERM. To stop it by PID,
// start it as `node --import tsx test/servers/start-stock.ts …` and signal that PID: a SIGTERM sent
// to an `npx tsx` wrapper did not reach the script (seen: sshd and its users stayed behind).
import { startSshd } from './sshd.js';
import { startVsftpd } from './vsftpd.js';

const which = process.argv[2];
if (which !== 'sshd' && which !== 'vsftpd') {
  process.stderr.write('usage: start-stock.ts sshd|vsftpd [--keep]\n');
  process.exit(2);
}
const keepDir = process.argv.includes('--keep');
const t0 = Date.now();
const srv = which === 'sshd' ? await startSshd({ keepDir }) : await startVsftpd({ keepDir });
const { stop, failedLogins, logTail, home, ...shown } = srv;
const homes = Object.fromEntries(Object.values(srv.users).map((u) => [u.name, home(u.name)]));
process.stdout.write(`${JSON.stringify({ server: which, startMs: Date.now() - t0, ...shown, homes })}\n`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  await srv.stop();
  process.stderr.write(`${which} stopped (${signal})${keepDir ? `; kept ${srv.dir}` : ''}\n`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
