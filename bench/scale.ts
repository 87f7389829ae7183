// Data sizes per BENCH_SCALE: "full" is issue #7's, "small" a quick check, "tiny" for the smoke test.
export interface Scale {
  name: 'full' | 'small' | 'tiny';
  /** Case 1: one big file. */
  bigBytes: number;
  /** Case 2: this many files of smallBytes each. */
  smallFiles: number;
  smallBytes: number;
  /** Case 3: files in the unchanged tree. */
  treeFiles: number;
  /** Case 5: the file whose upload's peak RSS is measured. */
  rssBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const SCALES: Record<Scale['name'], Scale> = {
  full: {
    name: 'full',
    bigBytes: GiB,
    smallFiles: 10_000,
    smallBytes: 4096,
    treeFiles: 100_000,
    rssBytes: 4 * GiB,
  },
  small: {
    name: 'small',
    bigBytes: 64 * MiB,
    smallFiles: 1000,
    smallBytes: 4096,
    treeFiles: 10_000,
    rssBytes: 256 * MiB,
  },
  tiny: {
    name: 'tiny',
    bigBytes: 4 * MiB,
    smallFiles: 50,
    smallBytes: 4096,
    treeFiles: 300,
    rssBytes: 8 * MiB,
  },
};

export function scaleFrom(env: NodeJS.ProcessEnv): Scale {
  const name = (env.BENCH_SCALE ?? 'full') as Scale['name'];
  const s = SCALES[name];
  if (!s) throw new Error(`BENCH_SCALE: expected full, small or tiny, got "${env.BENCH_SCALE}"`);
  return s;
}

export function runsFrom(env: NodeJS.ProcessEnv): number {
  const v = env.BENCH_RUNS ?? '3';
  if (!/^[1-9]\d*$/.test(v)) throw new Error(`BENCH_RUNS: expected a positive whole number, got "${v}"`);
  return Number(v);
}

/** "1 GiB", "64 MiB", "4 KiB", "512 B". */
export function bytesText(n: number): string {
  for (const [unit, size] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', 1024],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))} ${unit}`;
  }
  return `${n} B`;
}

/** "10,000". */
export const countText = (n: number) => n.toLocaleString('en-US');
