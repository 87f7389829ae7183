// Sizes of the fault suites. FAULT_SCALE=full gives issue #8's sizes (`npm run test:faults` with
// FAULT_SCALE=full: tens of minutes); the default is the CI size, each file well under a minute on
// 2 cores. FAULT_SEED=<n> replays a run (every file prints the seed it used).

export const FULL = process.env.FAULT_SCALE === 'full';

/** Picks the size for the current scale. */
export function scaled<T>(ci: T, full: T): T {
  return FULL ? full : ci;
}

/** The seed of this run: FAULT_SEED, or a fresh one (printed by the tests so a failure can be replayed). */
export function faultSeed(): number {
  const s = Number(process.env.FAULT_SEED);
  return Number.isInteger(s) && s > 0 ? s : 1 + Math.floor(Math.random() * 0x7fffffff);
}

/** mulberry32: a small seeded PRNG, so a failing sequence of faults can be replayed. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}
