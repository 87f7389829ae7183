// The live connection test behind `account test` and `account add`: log in through the normal path,
// write and remove a probe file, and report what a user needs to debug a login (prompts and the rules
// that answered them, time left in the TOTP step, round trip, server clock offset, host identity).
// Nothing here ever holds a code in its result.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as localJoin } from 'node:path';
import type { Account } from '../config/types.js';
import { OtpBackupError } from '../errors.js';
import { stepStartMs } from '../otp/index.js';
import type { Clock } from '../schedule/clock.js';
import type { LoginWait } from '../transport/login.js';
import { accountTransport } from '../transport/open.js';
import { join } from '../transport/remote-path.js';
import type { PromptLogEntry } from '../transport/sftp/prompts.js';
import { fetchServerIdentity } from './trust.js';

export interface ProbeDeps {
  env: NodeJS.ProcessEnv;
  clock: Clock;
  getSecret: (ref: string) => Promise<string>;
  trustHostKeys?: string[];
  log?: (line: string) => void;
  /** --debug: the protocol log (secrets masked) through `log`. */
  trace?: boolean;
  /** Asks a person for the code (otp.type: prompt). */
  promptCode?: (message: string) => Promise<string>;
  /** Told before each login wait (and summed into waitMs either way). */
  onWait?: (w: LoginWait) => void;
  /** Filled with the keyboard-interactive prompts as they come, so a failed login can show them. */
  prompts?: PromptLogEntry[];
}

export interface ProbeResult {
  account: string;
  server: string;
  ok: true;
  /** Keyboard-interactive prompts in order and the rule that answered each (SFTP only). */
  prompts: PromptLogEntry[];
  /** Seconds left in the TOTP step whose code was used, when the login was made. */
  secondsLeftInStep?: number;
  /** Connecting and logging in, without waitMs. */
  loginMs: number;
  /** Time spent waiting before the login (a fresh TOTP step, the end of a step, the refused-login cap). */
  waitMs: number;
  /** Round trip of one stat of the probe file. */
  rttMs: number;
  /** Server clock minus local clock, from the probe file's mtime (whole seconds; FTP MDTM/MLST, SFTP stat). */
  clockOffsetSeconds?: number;
  /** SSH host key or TLS certificate fingerprint. */
  fingerprint?: string;
  fingerprintSource?: string;
  probe: string;
}

/** Logs in, writes and removes a probe file in the account's remote dir. Throws OtpBackupError on failure. */
export async function probeAccount(account: Account, deps: ProbeDeps): Promise<ProbeResult> {
  const { clock } = deps;
  let secondsLeft: number | undefined;
  let waitMs = 0;
  const transport = await accountTransport(account, {
    env: deps.env,
    clock,
    getSecret: deps.getSecret,
    onWait: (w) => {
      waitMs += w.ms;
      deps.onWait?.(w);
    },
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.trace ? { trace: true } : {}),
    ...(deps.promptCode ? { promptCode: deps.promptCode } : {}),
    ...(deps.trustHostKeys ? { trustHostKeys: deps.trustHostKeys } : {}),
    onCredentials: (c) => {
      if (c.step !== undefined && account.otp.type === 'totp') {
        const end = stepStartMs(c.step + 1, account.otp.period, account.otp.t0);
        secondsLeft = Math.max(0, Math.round((end - clock.now()) / 1000));
      }
    },
  });
  const tmp = await mkdtemp(localJoin(tmpdir(), 'otpbackup-probe-'));
  const live = (transport as { promptLog?: PromptLogEntry[] }).promptLog;
  try {
    const t0 = Date.now();
    try {
      await transport.connect();
    } finally {
      if (live && deps.prompts) deps.prompts.push(...live);
    }
    // The planned waits are announced before they start; what they took is not login time.
    const loginMs = Math.max(0, Date.now() - t0 - waitMs);
    const name = `.otpbackup-probe-${randomBytes(6).toString('hex')}`;
    const remote = join(account.remoteDir, name);
    const local = localJoin(tmp, name);
    await writeFile(local, 'otpbackup connection test\n');
    await transport.mkdirp(account.remoteDir);
    const before = clock.now();
    await transport.put(local, remote, { size: 26 });
    const after = clock.now();
    const s0 = Date.now();
    const st = await transport.stat(remote);
    const rttMs = Date.now() - s0;
    if (!st) throw new OtpBackupError('remote', `probe file ${remote} is missing right after the upload`);
    await transport.remove(remote);
    const result: ProbeResult = {
      account: account.name,
      server: `${account.protocol}://${account.user}@${account.host}:${account.port}`,
      ok: true,
      prompts: [],
      loginMs,
      waitMs: Math.round(waitMs),
      rttMs,
      probe: remote,
    };
    if (secondsLeft !== undefined) result.secondsLeftInStep = secondsLeft;
    if (st.mtime) {
      // mtimes have whole-second resolution; compare with the middle of the upload.
      const offset = Math.round((st.mtime.getTime() - (before + after) / 2) / 1000);
      result.clockOffsetSeconds = offset === 0 ? 0 : offset;
    }
    const sftp = transport as {
      promptLog?: PromptLogEntry[];
      hostKey?: { fingerprint: string; source: string };
    };
    if (sftp.promptLog) result.prompts = [...sftp.promptLog];
    if (sftp.hostKey) {
      result.fingerprint = sftp.hostKey.fingerprint;
      result.fingerprintSource = sftp.hostKey.source;
    } else if (account.protocol === 'ftps' || account.protocol === 'ftps-implicit') {
      // The FTP transport keeps its certificate to itself; a second handshake (no login) shows it.
      const id = await fetchServerIdentity(account).catch(() => undefined);
      if (id) {
        result.fingerprint = id.fingerprint;
        result.fingerprintSource = id.authorized
          ? 'CA'
          : account.trust.tlsFingerprints?.length
            ? 'pinned'
            : 'unverified';
      }
    }
    return result;
  } finally {
    await transport.close().catch(() => {});
    await rm(tmp, { recursive: true, force: true });
  }
}
