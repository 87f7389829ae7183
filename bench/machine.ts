// What the numbers were measured on: machine, Node, and the version of every tool compared.
import { execFile } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { VSFTPD_BIN } from '../test/servers/vsftpd.js';

const run = promisify(execFile);

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  node: string;
}

export function machine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    ramGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
  };
}

/** First line of a version banner (stdout or stderr), or why it could not be read. */
async function banner(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 10_000 });
    return (stdout.trim() || stderr.trim()).split('\n')[0]?.trim() ?? '';
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: string };
    // `ssh -V` and `proftpd -v` exit 0 but some builds print to stderr with another status.
    const text = (err.stdout?.trim() || err.stderr?.trim() || '').split('\n')[0];
    return text || `unavailable (${err.code ?? 'error'})`;
  }
}

export async function toolVersions(otpbackup: {
  cmd: string;
  args: string[];
}): Promise<Record<string, string>> {
  const entries = await Promise.all(
    (
      [
        ['otpbackup', otpbackup.cmd, [...otpbackup.args, '--version']],
        ['openssh', 'ssh', ['-V']],
        ['curl', 'curl', ['--version']],
        ['lftp', 'lftp', ['--version']],
        ['rclone', 'rclone', ['version']],
        ['proftpd', '/usr/sbin/proftpd', ['-v']],
        ['sshd', '/usr/sbin/sshd', ['-V']],
        // vsftpd -v writes its version to fd 0.
        ['vsftpd', 'sh', ['-c', `exec ${VSFTPD_BIN} -v 0>&1`]],
        ['find', 'find', ['--version']],
      ] as const
    ).map(async ([name, cmd, args]) => [name, await banner(cmd, [...args])] as const),
  );
  return Object.fromEntries(entries);
}
