// In-process SSH servers (ssh2's Server) that mimic the OTP logins of real products, for fast tests:
//   sftpgo: keyboard-interactive "Password: " then "Authentication code: " in two rounds, or publickey
//           (partial success) then only the code; a code that logged in is banned for 2 minutes.
//   pam:    one round, "Verification code: " or with forwardPass "Password & verification code: ";
//           a spent step is refused, and at most 3 attempts per 30 s are even checked.
// TOTP is checked with the otpauth package (not our own code) and a short period, so tests need not
// wait 30 s. File operations go to OpenSSH's real sftp-server, started per session with -d root.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as OTPAuth from 'otpauth';
import ssh2, { type AuthContext, type Connection, type KeyboardAuthContext } from 'ssh2';

// ssh2 is CommonJS: Node's ESM loader sees only its default export.
const { Server, utils } = ssh2;

/**
 * An ed25519 key pair in OpenSSH format. ssh2 1.17's generateKeyPairSync drops leading zero bytes of
 * the key (about 1 in 100 keys), and then cannot parse its own output; such pairs are drawn again.
 */
export function generateEd25519(): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    const pub = utils.parseKey(pair.public);
    const priv = utils.parseKey(pair.private);
    if (!(pub instanceof Error) && !(priv instanceof Error) && !Array.isArray(pub)) return pair;
  }
}

export const SFTP_SERVER = '/usr/lib/openssh/sftp-server';

/** Whether OpenSSH's sftp-server is installed (Debian: openssh-sftp-server). */
export function sftpServerAvailable(): boolean {
  return existsSync(SFTP_SERVER);
}

export interface SshServerOptions {
  style: 'sftpgo' | 'pam';
  /** sftp-server's start directory; paths are absolute on the real file system anyway. */
  root: string;
  user?: string;
  password?: string;
  /** Base32 TOTP seed; a random one by default. */
  secret?: string;
  /** TOTP period in seconds (default 5, so tests wait little for a fresh step). */
  period?: number;
  digits?: number;
  /** pam: one combined "Password & verification code: " prompt instead of "Verification code: ". */
  forwardPass?: boolean;
  /** pam: pam_oath's prompt "One-time password (OATH) for `USER': ", wanting password+code (the
   *  password kept in the OATH users file). */
  oathPrompt?: boolean;
  /** OpenSSH public key line ("ssh-ed25519 AAAA..."); sftpgo then accepts publickey + code. */
  authorizedKey?: string;
  /** Private host key (OpenSSH format); a fresh ed25519 key by default. */
  hostKey?: string;
  /** Send one INFO_REQUEST without prompts before the real ones (some PAM stacks do). */
  emptyRound?: boolean;
  /** Ask this extra prompt after the code (no default rule should answer it). */
  extraPrompt?: string;
  /** Refuse the first N code answers even when right (to test retries). */
  rejectFirst?: number;
  /** After a refused answer, ask the same prompt again in the same exchange instead of failing. */
  repromptOnFailure?: boolean;
  /** Run sftp-server as this user (needs root): a server account that may not write everywhere. */
  runAs?: { uid: number; gid: number };
}

export interface SshServerHandle {
  port: number;
  user: string;
  password: string;
  secret: string;
  period: number;
  hostKeyBlob: Buffer;
  /** "SHA256:..." like ssh-keygen -l. */
  hostKeyFingerprint: string;
  /** A known_hosts line for this server on 127.0.0.1. */
  knownHostsLine: string;
  /** Refused password/code answers so far (publickey queries and "none" do not count). */
  rejections: number;
  /** Successful logins. */
  logins: number;
  /** Every code received, in order (tests compare them; they are throwaway test values). */
  codes: string[];
  /** Prompts sent, in order. */
  prompts: string[];
  /** INFO_REQUESTs without prompts that the client answered (with no answers). */
  emptyRoundsAnswered: number;
  stop(): Promise<void>;
}

function base32Random(bytes = 20): string {
  return new OTPAuth.Secret({ buffer: randomBytes(bytes).buffer as ArrayBuffer }).base32;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startSshServer(opts: SshServerOptions): Promise<SshServerHandle> {
  if (!sftpServerAvailable()) throw new Error(`${SFTP_SERVER} is missing (install openssh-sftp-server)`);
  const user = opts.user ?? 'backup';
  const password = opts.password ?? `pw-${randomBytes(6).toString('hex')}`;
  const secret = opts.secret ?? base32Random();
  const period = opts.period ?? 5;
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    period,
    digits: opts.digits ?? 6,
    algorithm: 'SHA1',
  });
  const hostKey = opts.hostKey ?? generateEd25519().private;
  const parsedHost = utils.parseKey(hostKey);
  if (parsedHost instanceof Error) throw parsedHost;
  const hostPub = Array.isArray(parsedHost) ? parsedHost[0] : parsedHost;
  if (!hostPub) throw new Error('no host key');
  const hostKeyBlob = hostPub.getPublicSSH();
  const authorized = opts.authorizedKey ? utils.parseKey(opts.authorizedKey) : undefined;
  if (authorized instanceof Error) throw authorized;
  const authKey = Array.isArray(authorized) ? authorized[0] : authorized;

  const bannedCodes = new Map<string, number>(); // sftpgo: code -> banned until (ms)
  let lastStep = Number.NEGATIVE_INFINITY; // pam: newest step that logged in
  const attempts: number[] = []; // pam: times of checked attempts
  let toReject = opts.rejectFirst ?? 0;
  const clients = new Set<Connection>();
  const children = new Set<ChildProcess>();

  const handle: SshServerHandle = {
    port: 0,
    user,
    password,
    secret,
    period,
    hostKeyBlob,
    hostKeyFingerprint: `SHA256:${createHash('sha256').update(hostKeyBlob).digest('base64').replace(/=+$/, '')}`,
    knownHostsLine: '',
    rejections: 0,
    logins: 0,
    codes: [],
    prompts: [],
    emptyRoundsAnswered: 0,
    stop: async () => {},
  };

  /** Checks a code under the style's replay rules; true when it logs in. */
  function checkCode(code: string): boolean {
    handle.codes.push(code);
    const now = Date.now();
    if (opts.style === 'pam') {
      while (attempts.length && (attempts[0] ?? 0) <= now - 30_000) attempts.shift();
      if (attempts.length >= 3) return false; // rate limited: not even checked
      attempts.push(now);
    }
    if (toReject > 0) {
      toReject--;
      return false;
    }
    const delta = totp.validate({ token: code, timestamp: now, window: 1 });
    if (delta === null) return false;
    const step = Math.floor(now / 1000 / period) + delta;
    if (opts.style === 'pam') {
      if (step <= lastStep) return false; // reuse refused
      lastStep = step;
    } else {
      if ((bannedCodes.get(code) ?? 0) > now) return false; // replay ban
      bannedCodes.set(code, now + 120_000);
    }
    return true;
  }

  /** One prompt, asked again while repromptOnFailure allows; resolves whether `ok(answer)` held. */
  function ask(
    ctx: KeyboardAuthContext,
    prompt: string,
    ok: (answer: string) => boolean,
  ): Promise<boolean | 'aborted'> {
    return new Promise((resolve) => {
      const round = () => {
        handle.prompts.push(prompt);
        ctx.prompt([{ prompt, echo: false }], (answers) => {
          if (!Array.isArray(answers)) return resolve('aborted');
          if (ok(answers[0] ?? '')) return resolve(true);
          handle.rejections++;
          if (opts.repromptOnFailure) return round();
          resolve(false);
        });
      };
      round();
    });
  }

  function emptyRound(ctx: KeyboardAuthContext): Promise<boolean> {
    return new Promise((resolve) =>
      ctx.prompt([], (answers) => {
        const ok = Array.isArray(answers) && answers.length === 0;
        if (ok) handle.emptyRoundsAnswered++;
        resolve(ok);
      }),
    );
  }

  async function keyboard(ctx: KeyboardAuthContext, afterKey: boolean): Promise<boolean | 'aborted'> {
    if (opts.emptyRound && !(await emptyRound(ctx))) return false;
    let r: boolean | 'aborted';
    if (opts.style === 'sftpgo') {
      if (!afterKey) {
        r = await ask(ctx, 'Password: ', (a) => safeEqual(a, password));
        if (r !== true) return r;
      }
      r = await ask(ctx, 'Authentication code: ', checkCode);
    } else if (opts.oathPrompt) {
      r = await ask(
        ctx,
        `One-time password (OATH) for \`${user}': `,
        (a) => a.startsWith(password) && checkCode(a.slice(password.length)),
      );
    } else if (opts.forwardPass) {
      r = await ask(
        ctx,
        'Password & verification code: ',
        (a) => a.startsWith(password) && checkCode(a.slice(password.length)),
      );
    } else {
      r = await ask(ctx, 'Verification code: ', checkCode);
    }
    if (r !== true) return r;
    if (opts.extraPrompt) return ask(ctx, opts.extraPrompt, () => true);
    return true;
  }

  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    clients.add(client);
    let keyDone = false;
    client.on('error', () => {});
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx: AuthContext) => {
      if (ctx.username !== user) {
        handle.rejections++;
        return ctx.reject(['keyboard-interactive']);
      }
      switch (ctx.method) {
        case 'publickey': {
          if (opts.style !== 'sftpgo' || !authKey) return ctx.reject(['keyboard-interactive']);
          const same = ctx.key.algo === authKey.type && ctx.key.data.equals(authKey.getPublicSSH());
          if (!same) return ctx.reject(['publickey', 'keyboard-interactive']);
          if (!ctx.signature) return ctx.accept(); // the query: "would this key do?"
          if (!authKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo))
            return ctx.reject(['publickey', 'keyboard-interactive']);
          keyDone = true;
          return ctx.reject(['keyboard-interactive'], true); // partial success: now the code
        }
        case 'keyboard-interactive':
          keyboard(ctx, keyDone).then((ok) => {
            if (ok === 'aborted') return;
            if (ok) {
              handle.logins++;
              ctx.accept();
            } else
              ctx.reject(
                authKey && !keyDone ? ['publickey', 'keyboard-interactive'] : ['keyboard-interactive'],
              );
          });
          return;
        default:
          return ctx.reject(
            authKey && !keyDone ? ['publickey', 'keyboard-interactive'] : ['keyboard-interactive'],
          );
      }
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acceptSub, rejectSub, info) => {
          if (info.name !== 'sftp') return rejectSub();
          const channel = acceptSub();
          const child = spawn(SFTP_SERVER, ['-d', opts.root, '-e', '-l', 'ERROR'], {
            stdio: ['pipe', 'pipe', 'pipe'],
            ...(opts.runAs ?? {}),
          });
          children.add(child);
          child.stderr?.resume();
          channel.pipe(child.stdin as NodeJS.WritableStream);
          child.stdout?.pipe(channel);
          child.stdin?.on('error', () => {});
          child.on('exit', (code) => {
            children.delete(child);
            try {
              channel.exit(code ?? 1);
              channel.end();
            } catch {}
          });
          channel.on('close', () => child.stdin?.end());
        });
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  handle.port = typeof addr === 'object' && addr ? addr.port : 0;
  handle.knownHostsLine = `[127.0.0.1]:${handle.port} ${hostPub.type} ${hostKeyBlob.toString('base64')}`;
  handle.stop = async () => {
    for (const c of clients) c.end();
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return handle;
}
