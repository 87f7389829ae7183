// Manual/benchmark use: `npx tsx test/servers/start-proftpd.ts [--keep]` starts the ProFTPD test
// servers on loopback, prints ports, users (throwaway seeds) and paths as JSON on one line, and
// stops on SIGINT/SIGTERM.
import { startProftpd } from './proftpd.js';

const keepDir = process.argv.includes('--keep');
const t0 = Date.now();
const srv = await startProftpd({ keepDir });
const { dir, pid, ports, users, clientKeyPath, sshHostKeyFingerprint, caCertPath, tlsCertFingerprint } = srv;
const homes = Object.fromEntries(Object.values(users).map((u) => [u.name, srv.home(u.name)]));
process.stdout.write(
  `${JSON.stringify({
    pid,
    dir,
    startMs: Date.now() - t0,
    ports,
    users,
    homes,
    clientKeyPath,
    sshHostKeyFingerprint,
    caCertPath,
    tlsCertFingerprint,
  })}\n`,
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  await srv.stop();
  process.stderr.write(`proftpd stopped (${signal})${keepDir ? `; kept ${dir}` : ''}\n`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
