// The SSH login steps of one attempt: which method next (none first, then the account's order
// within what the server still wants: ssh-agent or key, keyboard-interactive answered by the
// prompt rules with the one-time code, password), partial success tracked, and a refused step
// reported with the hint that fits. Also the private key and the agent that notes a signature.
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { Account, SftpAuthMethod } from '../../config/types.js';
import { OtpBackupError } from '../../errors.js';
import { expandTemplate } from '../../otp/index.js';
import type { Credentials } from '../login.js';
import { combinedPromptHint, type PromptLogEntry, PromptResponder } from './prompts.js';

export interface PrivateKey {
  key: Buffer;
  passphrase?: string;
}

/** An ssh-agent that notes whether it was asked to sign (the server accepted one of its keys). */
export function watchedAgent(socket: string): { agent: ssh2.BaseAgent; signed: boolean } {
  const inner = ssh2.createAgent(socket);
  const w: { agent: ssh2.BaseAgent; signed: boolean } = { agent: inner, signed: false };
  // A plain object over the real agent: ssh2 accepts any object with these two methods.
  w.agent = Object.assign(Object.create(ssh2.BaseAgent.prototype) as ssh2.BaseAgent, {
    getIdentities: (cb: unknown) => (inner.getIdentities as (c: unknown) => void)(cb),
    sign: (...args: unknown[]) => {
      w.signed = true;
      (inner.sign as (...a: unknown[]) => void)(...args);
    },
  });
  return w;
}

/** The account's private key file and its passphrase (a secret reference, resolved by `getSecret`). */
export async function loadKey(
  account: Account,
  getSecret: ((ref: string) => Promise<string>) | undefined,
): Promise<PrivateKey> {
  const path = account.privateKey as string;
  let key: Buffer;
  try {
    key = await readFile(path);
  } catch (e) {
    throw new OtpBackupError(
      'local',
      `accounts.${account.name}.privateKey: cannot read ${path}: ${(e as Error).message}`,
      {
        hint: 'point privateKey at an OpenSSH private key file readable by this user',
      },
    );
  }
  const ref = account.privateKeyPassphrase;
  if (!ref) return { key };
  if (!getSecret) throw new OtpBackupError('internal', 'no secret resolver for the private key passphrase');
  return { key, passphrase: await getSecret(ref) };
}

export interface AuthSteps {
  /** ssh2's authHandler for this attempt. */
  handler: (methodsLeft: string[] | null, partialSuccess: boolean | null, next: (a: unknown) => void) => void;
  /** Why the login failed, set by the steps (and by the host-key check): reported instead of
   *  ssh2's generic error. */
  failure: OtpBackupError | undefined;
}

/**
 * The login steps of one attempt with credentials `c`. `promptLog` collects which rule answered
 * which prompt (over all attempts); `end` closes the connection when a prompt cannot be answered.
 */
export function authSteps(o: {
  account: Account;
  c: Credentials;
  key: PrivateKey | undefined;
  where: string;
  promptLog: PromptLogEntry[];
  log: (line: string) => void;
  end: () => void;
}): AuthSteps {
  const { account, c, key, where } = o;
  const prefs: SftpAuthMethod[] = account.authMethods?.length
    ? account.authMethods
    : key || account.agent
      ? ['publickey', 'keyboard-interactive', 'password']
      : ['keyboard-interactive', 'password'];
  const responder = new PromptResponder(account, c, o.promptLog);
  const firstPrompt = o.promptLog.length;
  let passwordSent = false;
  /** The pam_oath case: a code-only answer refused while the password went nowhere. */
  const withPromptHint = (e: OtpBackupError): OtpBackupError => {
    const hint = combinedPromptHint(o.promptLog.slice(firstPrompt), c, passwordSent);
    return hint && e.code === 'auth' ? new OtpBackupError('auth', e.message, { hint, cause: e }) : e;
  };
  // The handler reads and sets `steps.failure` at call time, after `steps` exists.
  let last: string | undefined;
  const done = new Set<string>();
  const refused = new Set<string>();
  let plainPassword = false;
  const agent = account.agent ? watchedAgent(account.agent) : undefined;
  let agentTried = false;

  const handler = (
    methodsLeft: string[] | null,
    partialSuccess: boolean | null,
    next: (a: unknown) => void,
  ) => {
    if (last === undefined) {
      // Ask with "none" first: the reply lists the methods the server wants (RFC 4252 5.2).
      last = 'none';
      return next({ type: 'none', username: c.user });
    }
    if (last === 'agent') {
      // ssh2 takes a partial success of an agent key for a failure and moves on to the next key
      // (mscdex/ssh2#1215), then hands us the methods of an earlier reply. A signature asked of the
      // agent means the server accepted that key: count the public-key step as done, and go on
      // with the other methods the account allows.
      if (partialSuccess || agent?.signed) {
        done.add('publickey');
        if (!partialSuccess) methodsLeft = prefs.filter((m) => m !== 'publickey');
      }
    } else if (last !== 'none') {
      if (partialSuccess) done.add(last);
      else refused.add(last);
      if (!partialSuccess && last !== 'publickey') {
        // A refused password or code: stop here, the discipline decides whether to retry.
        steps.failure ??= withPromptHint(
          new OtpBackupError('auth', `${where} refused the ${last} login of user "${c.user}"`, {
            hint:
              last === 'password' && plainPassword
                ? 'the password was sent alone (the code goes to keyboard-interactive); if this server wants password and code together, set authMethods: [password]'
                : undefined,
          }),
        );
        return next(false);
      }
    }
    const offered = methodsLeft ?? [];
    // ssh-agent first for the public-key step, as OpenSSH does; a key file after a refused agent.
    if (
      agent &&
      !agentTried &&
      prefs.includes('publickey') &&
      offered.includes('publickey') &&
      !done.has('publickey')
    ) {
      agentTried = true;
      last = 'agent';
      o.log('sftp: trying publickey (ssh-agent)');
      return next({ type: 'agent', username: c.user, agent: agent.agent });
    }
    const pick = prefs.find(
      (m) => offered.includes(m) && !done.has(m) && !refused.has(m) && (m !== 'publickey' || key),
    );
    if (!pick) {
      steps.failure ??= new OtpBackupError(
        refused.has('publickey') ? 'auth' : 'config',
        refused.has('publickey')
          ? `${where} refused the public key of user "${c.user}" (${account.privateKey})`
          : `${where} wants ${offered.join(', ') || 'no method'} for user "${c.user}"; account "${account.name}" allows ${prefs.join(', ')}`,
        {
          hint: refused.has('publickey')
            ? 'add the public key to the server account'
            : 'set authMethods (and privateKey for publickey) in the account',
        },
      );
      return next(false);
    }
    last = pick;
    o.log(`sftp: trying ${pick}${partialSuccess ? ' (partial success so far)' : ''}`);
    if (pick === 'publickey')
      return next({ type: 'publickey', username: c.user, key: key?.key, passphrase: key?.passphrase });
    if (pick === 'password') {
      // While keyboard-interactive is wanted too, the code goes there ("password+keyboard-interactive"
      // chains list only "password" first), so this is the bare password. Servers that take password
      // and code together over "password" need authMethods without keyboard-interactive.
      plainPassword = prefs.includes('keyboard-interactive') && c.password !== undefined;
      if (!plainPassword) c.sent = true;
      passwordSent = true;
      return next({
        type: 'password',
        username: c.user,
        password: plainPassword ? c.password : expandTemplate(account.template, c.vars),
      });
    }
    return next({
      type: 'keyboard-interactive',
      username: c.user,
      prompt: (
        _name: string,
        _instr: string,
        _lang: string,
        prompts: { prompt: string; echo?: boolean }[],
        finish: (answers: string[]) => void,
      ) => {
        try {
          const seen = responder.log.length;
          const answers = responder.answer(prompts);
          if (responder.log.slice(seen).some((p) => p.usesCode)) c.sent = true;
          finish(answers);
        } catch (e) {
          steps.failure ??= e instanceof OtpBackupError ? withPromptHint(e) : (e as OtpBackupError);
          o.end();
        }
      },
    });
  };
  const steps: AuthSteps = { handler, failure: undefined };
  return steps;
}
