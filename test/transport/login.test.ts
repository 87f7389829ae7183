// Unit tests of the login discipline (src/transport/login.ts) with a FakeClock and a temp state dir.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { accountStatePath } from '../../src/config/paths.js';
import type { Account, OtpSettings } from '../../src/config/types.js';
import { OtpBackupError } from '../../src/errors.js';
import { hotp, parseSecret, stepStartMs, totpForStep, totpStep } from '../../src/otp/index.js';
import { FakeClock } from '../../src/schedule/clock.js';
import {
  type AccountLoginState,
  type CredentialSource,
  type Credentials,
  createCredentialSource,
  type LoginWait,
  loginWithDiscipline,
} from '../../src/transport/login.js';

const SEED = 'JBSWY3DPEHPK3PXP';
const PASSWORD = 'pw-Secret-42';
const KEY = parseSecret(SEED);
const PARAMS = { algorithm: 'sha1', digits: 6 } as const;
// A step boundary (period 30) plus 5 s, so there is room before the end-of-step margin.
const T_START = stepStartMs(totpStep(Date.UTC(2025, 0, 1), 30) + 1, 30) + 5000;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function account(otp: Partial<OtpSettings> = {}, extra: Partial<Account> = {}): Account {
  return {
    name: 'acme',
    protocol: 'ftp',
    host: '127.0.0.1',
    port: 2121,
    user: 'alice',
    remoteDir: '/',
    template: '${PASSWORD}${OTP}',
    password: 'env:PW',
    otp: {
      type: 'totp',
      secret: 'env:SEED',
      algorithm: 'sha1',
      digits: 6,
      period: 30,
      t0: 0,
      reuse: 'forbid',
      marginSeconds: 3,
      ...otp,
    },
    trust: {},
    ...extra,
  };
}

function setup(
  otp: Partial<OtpSettings> = {},
  extra: Partial<Account> = {},
  secrets: Record<string, string> = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'otpbackup-login-'));
  dirs.push(dir);
  const env = { XDG_STATE_HOME: dir, HOME: dir };
  const clock = new FakeClock(T_START);
  const map = new Map(Object.entries({ 'env:PW': PASSWORD, 'env:SEED': SEED, ...secrets }));
  const logs: string[] = [];
  const acct = account(otp, extra);
  const make = (more: { promptCode?: (m: string) => Promise<string> } = {}) =>
    createCredentialSource({
      account: acct,
      env,
      clock,
      getSecret: async (ref) => {
        const v = map.get(ref);
        if (v === undefined) throw new OtpBackupError('secret', `no secret ${ref}`);
        return v;
      },
      log: (l) => logs.push(l),
      ...more,
    });
  const state = (): AccountLoginState => JSON.parse(readFileSync(accountStatePath(env, acct.name), 'utf8'));
  return { env, clock, make, state, logs, acct };
}

const refused = () =>
  new OtpBackupError('auth', '127.0.0.1:2121 refused the login of user "alice" (530 Login incorrect)');

describe('credential source: TOTP', () => {
  test('first login uses the current step, expands vars and records the step', async () => {
    const { clock, make, state } = setup();
    const c = await make().next();
    const step = totpStep(T_START, 30);
    assert.equal(clock.now(), T_START, 'no wait for an unspent step');
    assert.equal(c.step, step);
    assert.equal(c.code, totpForStep(KEY, step, PARAMS));
    assert.deepEqual(c.vars, { USER: 'alice', PASSWORD, OTP: c.code, TOTP: c.code });
    assert.equal(c.password, PASSWORD);
    assert.equal(state().lastStep, step);
  });

  test('never reuses a spent step: the second login waits for the next one', async () => {
    const { clock, make } = setup();
    const src = make();
    const a = await src.next();
    const b = await src.next();
    assert.equal(b.step, (a.step ?? 0) + 1);
    assert.equal(clock.now(), stepStartMs(b.step ?? 0, 30), 'waited exactly until the next step began');
    assert.notEqual(a.code, b.code);
  });

  test('the spent step is shared across runs (a new source reads the state)', async () => {
    const { clock, make } = setup();
    const a = await make().next();
    const b = await make().next();
    assert.equal(b.step, (a.step ?? 0) + 1);
    assert.ok(clock.now() >= stepStartMs(b.step ?? 0, 30));
  });

  test('two concurrent sources (two processes) never get the same step', async () => {
    const { make } = setup();
    const [a, b] = await Promise.all([make().next(), make().next()]);
    assert.notEqual(a.step, b.step);
  });

  test('within the end-of-step margin it waits for the next step', async () => {
    const { clock, make } = setup();
    const step = totpStep(T_START, 30);
    clock.set(stepStartMs(step + 1, 30) - 2000); // 2 s left, margin 3 s
    const c = await make().next();
    assert.equal(c.step, step + 1);
    assert.equal(clock.now(), stepStartMs(step + 1, 30));
  });

  test('just outside the margin it does not wait', async () => {
    const { clock, make } = setup();
    const step = totpStep(T_START, 30);
    clock.set(stepStartMs(step + 1, 30) - 3500);
    const before = clock.now();
    const c = await make().next();
    assert.equal(c.step, step);
    assert.equal(clock.now(), before);
  });

  test("reuse: 'allow' logs in twice in the same step without waiting", async () => {
    const { clock, make } = setup({ reuse: 'allow' });
    const src = make();
    const a = await src.next();
    const b = await src.next();
    assert.equal(a.step, b.step);
    assert.equal(clock.now(), T_START);
  });

  test('a recorded step far in the future (clock was ahead) does not block for hours', async () => {
    const { clock, make, env, acct } = setup();
    const { writeJson } = await import('../../src/config/state-file.js');
    await writeJson(accountStatePath(env, acct.name), { lastStep: totpStep(T_START, 30) + 1000 });
    const c = await make().next();
    assert.ok(clock.now() - T_START <= 30_000, 'waited at most one step');
    assert.equal(c.step, totpStep(clock.now(), 30));
  });

  test('an otpauth URI as the secret brings its own parameters', async () => {
    const uri = `otpauth://totp/acme:alice?secret=${SEED}&algorithm=SHA256&digits=8&period=60`;
    const { make } = setup({ secret: 'env:URI' }, {}, { 'env:URI': uri });
    const c = await make().next();
    assert.equal(c.code?.length, 8);
    assert.equal(c.code, totpForStep(KEY, totpStep(T_START, 60), { algorithm: 'sha256', digits: 8 }));
  });

  test('a template using ${PASSWORD} without a password is a config error', async () => {
    const { make } = setup({}, { password: undefined });
    await assert.rejects(
      make().next(),
      (e: unknown) => e instanceof OtpBackupError && e.code === 'config' && /PASSWORD/.test(e.message),
    );
  });

  test('aborting while waiting for a fresh step rejects', async () => {
    const { make } = setup();
    const src = make();
    await src.next();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(src.next(ac.signal), /stop/);
  });
});

describe('credential source: HOTP, prompt, command', () => {
  test('HOTP starts at otp.counter and persists the advanced counter before returning', async () => {
    const { make, state } = setup({ type: 'hotp', counter: 5 }, { template: '${HOTP}' });
    const src = make();
    const a = await src.next();
    assert.equal(a.counter, 5);
    assert.equal(a.code, hotp(KEY, 5, PARAMS));
    assert.deepEqual(a.vars, { USER: 'alice', PASSWORD, OTP: a.code, HOTP: a.code });
    assert.equal(state().counter, 6, 'persisted before the code is used');
    const b = await make().next(); // a later run continues
    assert.equal(b.counter, 6);
    assert.equal(state().counter, 7);
  });

  test('prompt asks through promptCode for each attempt', async () => {
    const { make } = setup({ type: 'prompt', secret: undefined });
    const asked: string[] = [];
    const src = make({
      promptCode: async (m) => {
        asked.push(m);
        return ` 24680${asked.length} `;
      },
    });
    assert.equal((await src.next()).code, '246801');
    assert.equal((await src.next()).code, '246802');
    assert.match(asked[0] ?? '', /alice@127\.0\.0\.1/);
  });

  test('prompt without a terminal is a usage error', async () => {
    const { make } = setup({ type: 'prompt', secret: undefined });
    await assert.rejects(make().next(), (e: unknown) => e instanceof OtpBackupError && e.code === 'usage');
  });

  test('command runs without a shell and takes the first line of stdout', async () => {
    const { make } = setup({
      type: 'command',
      secret: undefined,
      command: [process.execPath, '-e', 'console.log("135790\\nsecond")', '$HOME;x'],
    });
    assert.equal((await make().next()).code, '135790');
  });

  test('a failing command is a secret error that does not quote its output', async () => {
    const { make } = setup({
      type: 'command',
      secret: undefined,
      command: [
        process.execPath,
        '-e',
        'console.log("999111"); console.error("leak-999111"); process.exit(3)',
      ],
    });
    await assert.rejects(make().next(), (e: unknown) => {
      assert.ok(e instanceof OtpBackupError);
      assert.equal(e.code, 'secret');
      assert.match(e.message, /exit code 3/);
      assert.doesNotMatch(`${e.message} ${e.hint}`, /999111/);
      return true;
    });
  });

  test('a missing command program is a config error', async () => {
    const { make } = setup({ type: 'command', secret: undefined, command: ['/nonexistent/otp-tool'] });
    await assert.rejects(
      make().next(),
      (e: unknown) => e instanceof OtpBackupError && e.code === 'config' && /not found/.test(e.message),
    );
  });
});

describe('loginWithDiscipline', () => {
  test('a refused login is retried once, in a fresh step, even with reuse allowed', async () => {
    const { clock, make, state } = setup({ reuse: 'allow' });
    const src = make();
    const seen: Credentials[] = [];
    const r = await loginWithDiscipline(
      src,
      async (c) => {
        seen.push(c);
        if (seen.length === 1) throw refused();
        return 'ok';
      },
      { clock },
    );
    assert.equal(r, 'ok');
    assert.equal(seen.length, 2);
    assert.equal(seen[1]?.step, (seen[0]?.step ?? 0) + 1);
    assert.equal(state().failures?.length, 1);
    assert.ok(state().lastSuccess);
  });

  test('two refusals: exit 4, says what was refused, the UTC time and the clock hint; no third try', async () => {
    const { clock, make, state } = setup();
    let attempts = 0;
    const src = make();
    const err = await loginWithDiscipline(
      src,
      async () => {
        attempts++;
        throw refused();
      },
      { clock },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof OtpBackupError);
    assert.equal(err.exitCode, 4);
    assert.equal(attempts, 2);
    assert.match(err.message, /refused the login of user "alice"/);
    assert.match(err.message, /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ UTC/);
    assert.match(err.message, /skewed clock/);
    assert.equal(state().failures?.length, 2);
    // Same run: no more logins at all.
    await assert.rejects(
      loginWithDiscipline(
        src,
        async () => {
          attempts++;
          return 1;
        },
        { clock },
      ),
      (e: unknown) => e instanceof OtpBackupError && e.code === 'auth',
    );
    assert.equal(attempts, 2);
  });

  test('never more than 3 refused logins per minute per account across runs', async () => {
    const { clock, make } = setup({ period: 5, marginSeconds: 1 });
    const times: number[] = [];
    const fail = async () => {
      times.push(clock.now());
      throw refused();
    };
    for (let run = 0; run < 3; run++) {
      await assert.rejects(
        loginWithDiscipline(make(), fail, { clock }),
        (e: unknown) => e instanceof OtpBackupError && e.code === 'auth',
      );
    }
    assert.equal(times.length, 6);
    for (let i = 3; i < times.length; i++) {
      assert.ok(
        (times[i] ?? 0) - (times[i - 3] ?? 0) >= 60_000,
        `attempt ${i} came ${(times[i] ?? 0) - (times[i - 3] ?? 0)} ms after attempt ${i - 3}`,
      );
    }
  });

  test('network faults after the code was sent retry with fresh credentials; then give up', async () => {
    const { clock, make } = setup();
    const steps: (number | undefined)[] = [];
    const err = await loginWithDiscipline(
      make(),
      async (c) => {
        steps.push(c.step);
        c.sent = true;
        throw new OtpBackupError('network', 'connection reset', { retryable: true });
      },
      { clock, maxNetworkRetries: 2 },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof OtpBackupError && err.code === 'network');
    assert.equal(steps.length, 3);
    assert.equal(new Set(steps).size, 3, 'each reconnect uses an unspent step');
  });

  test('by default one network retry; a code never sent is given back, so no step wait', async () => {
    const { clock, env, acct } = setup();
    const waits: LoginWait[] = [];
    const src = createCredentialSource({
      account: acct,
      env,
      clock,
      getSecret: async (ref) => (ref === 'env:PW' ? PASSWORD : SEED),
      onWait: (w) => waits.push(w),
    });
    const steps: (number | undefined)[] = [];
    const t0 = clock.now();
    const err = await loginWithDiscipline(
      src,
      async (c) => {
        steps.push(c.step);
        throw new OtpBackupError('network', 'connection refused', { retryable: true });
      },
      { clock },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof OtpBackupError && err.code === 'network');
    assert.equal(steps.length, 2, 'one retry');
    assert.equal(steps[0], steps[1], 'the same step again: it was never sent');
    assert.deepEqual(waits, [], 'no wait for a fresh step');
    assert.ok(clock.now() - t0 <= 1000, `slept ${clock.now() - t0} ms (the 1 s backoff only)`);
  });

  test('an unsent step is given back in the state; an unsent HOTP counter too', async () => {
    const t = setup();
    await loginWithDiscipline(
      t.make(),
      async () => {
        throw new OtpBackupError('config', 'wrong banner');
      },
      { clock: t.clock },
    ).catch(() => {});
    assert.equal(t.state().lastStep, undefined);
    const h = setup({ type: 'hotp', counter: 7 });
    await loginWithDiscipline(
      h.make(),
      async () => {
        throw new OtpBackupError('remote', 'no TLS');
      },
      { clock: h.clock },
    ).catch(() => {});
    assert.equal(h.state().counter, 7, 'counter 7 was never sent, so it is next again');
  });

  test('onWait: a spent step is announced with its length, and whether reuse was accepted before', async () => {
    const t = setup();
    const waits: LoginWait[] = [];
    const src = createCredentialSource({
      account: t.acct,
      env: t.env,
      clock: t.clock,
      getSecret: async (ref) => (ref === 'env:PW' ? PASSWORD : SEED),
      onWait: (w) => waits.push(w),
    });
    await loginWithDiscipline(
      src,
      async (c) => {
        c.sent = true;
        return 1;
      },
      { clock: t.clock },
    );
    await loginWithDiscipline(src, async () => 2, { clock: t.clock });
    assert.equal(waits.length, 1);
    assert.equal(waits[0]?.reason, 'step-spent');
    assert.equal(waits[0]?.reuseAccepted, undefined);
    assert.ok((waits[0]?.ms ?? 0) > 20_000 && (waits[0]?.ms ?? 0) <= 25_000, String(waits[0]?.ms));
    // A login with reuse allowed that did reuse a step is remembered: the server accepts reuse.
    const r = setup({ reuse: 'allow' });
    const allow = r.make();
    await loginWithDiscipline(allow, async () => 1, { clock: r.clock });
    await loginWithDiscipline(allow, async () => 2, { clock: r.clock });
    assert.ok(r.state().reuseAccepted, 'reuse accepted recorded');
  });

  test('a network fault then success', async () => {
    const { clock, make } = setup({ type: 'hotp', counter: 0 });
    const counters: (number | undefined)[] = [];
    const r = await loginWithDiscipline(
      make(),
      async (c) => {
        counters.push(c.counter);
        c.sent = true; // the connection broke after the code went out
        if (counters.length === 1) throw new OtpBackupError('network', 'timeout', { retryable: true });
        return 'ok';
      },
      { clock },
    );
    assert.equal(r, 'ok');
    assert.deepEqual(counters, [0, 1]);
  });

  test('other errors pass through at once', async () => {
    const { clock, make } = setup();
    let n = 0;
    await assert.rejects(
      loginWithDiscipline(
        make(),
        async () => {
          n++;
          throw new OtpBackupError('trust', 'certificate not trusted');
        },
        { clock },
      ),
      (e: unknown) => e instanceof OtpBackupError && e.code === 'trust',
    );
    assert.equal(n, 1);
  });

  test('works with any CredentialSource (per-run cap is per source object)', async () => {
    const { clock } = setup();
    let failedCalls = 0;
    const src: CredentialSource = {
      next: async () => ({ user: 'u', code: '000000', vars: {} }),
      failed: async () => {
        failedCalls++;
      },
      succeeded: async () => {},
    };
    await assert.rejects(
      loginWithDiscipline(
        src,
        async () => {
          throw refused();
        },
        { clock },
      ),
    );
    assert.equal(failedCalls, 2);
  });

  test('no secret appears in errors or logs', async () => {
    const { clock, make, logs } = setup();
    const src = make();
    let codes: string[] = [];
    const err = await loginWithDiscipline(
      src,
      async (c) => {
        codes = [...codes, c.code ?? ''];
        throw refused();
      },
      { clock },
    ).catch((e: unknown) => e as OtpBackupError);
    const text = `${err.message} ${err.hint} ${logs.join('\n')}`;
    for (const s of [PASSWORD, SEED, ...codes]) assert.ok(!text.includes(s), 'secret leaked');
    assert.ok(logs.some((l) => /waiting \d+ s for a fresh TOTP step/.test(l)));
  });
});
