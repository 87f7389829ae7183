// The SecretStore conformance suite: every store runs it (like restic's backend test suite).
// Read-only stores (env, file, cmd) are checked for get semantics through `seed`, which puts a value
// in place by the store's own means; writable stores (vault, keychain) also for set/overwrite/delete.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretStore } from '../../src/secrets/types.js';

export interface StoreFixture {
  store: SecretStore;
  /** Puts `value` where the store will find it and returns the key to ask for. */
  seed(name: string, value: string): Promise<string>;
  /** A key the store has no secret for. */
  missing(): string;
}

/** Values with spaces, quotes, shell and template characters, and non-ASCII text. */
export const AWKWARD_VALUES = ['hunter2-Secret', 'p ä s s; "$(x)" `y` \'z\' ${PASSWORD}', 'JBSWY3DPEHPK3PXP'];

export function secretStoreSuite(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`SecretStore conformance: ${name}`, () => {
    it('returns undefined for a key it has no secret for', async () => {
      const f = await setup();
      assert.equal(await f.store.get(f.missing()), undefined);
    });

    it('returns seeded values exactly', async () => {
      const f = await setup();
      for (const [i, v] of AWKWARD_VALUES.entries()) {
        const key = await f.seed(`awkward-${i}`, v);
        assert.equal(await f.store.get(key), v);
      }
    });

    it('keeps different keys apart', async () => {
      const f = await setup();
      const a = await f.seed('apart-a', 'value-a-1');
      const b = await f.seed('apart-b', 'value-b-2');
      assert.equal(await f.store.get(a), 'value-a-1');
      assert.equal(await f.store.get(b), 'value-b-2');
    });

    it('has a scheme name', async () => {
      const f = await setup();
      assert.match(f.store.scheme, /^[a-z]+$/);
    });
  });
}

/** Extra contract for stores otpbackup writes to. */
export function writableStoreSuite(name: string, setup: () => Promise<StoreFixture>): void {
  secretStoreSuite(name, setup);
  describe(`SecretStore writable conformance: ${name}`, () => {
    it('set then get returns the value; set again overwrites', async () => {
      const f = await setup();
      assert.ok(f.store.set && f.store.delete, 'writable stores implement set and delete');
      await f.store.set('rw-one', 'first value');
      assert.equal(await f.store.get('rw-one'), 'first value');
      await f.store.set('rw-one', 'second value');
      assert.equal(await f.store.get('rw-one'), 'second value');
    });

    it('delete removes only that key, and deleting a missing key is fine', async () => {
      const f = await setup();
      await f.store.set!('del-a', 'value-a');
      await f.store.set!('del-b', 'value-b');
      await f.store.delete!('del-a');
      assert.equal(await f.store.get('del-a'), undefined);
      assert.equal(await f.store.get('del-b'), 'value-b');
      await f.store.delete!('del-a');
      await f.store.delete!(f.missing());
    });

    it('stores awkward values exactly', async () => {
      const f = await setup();
      for (const [i, v] of AWKWARD_VALUES.entries()) {
        await f.store.set!(`aw-${i}`, v);
        assert.equal(await f.store.get(`aw-${i}`), v);
      }
    });
  });
}
