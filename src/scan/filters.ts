// Include/exclude filters with gitignore semantics (the `ignore` package).
// exclude: a path matching any pattern is skipped (a matching directory is not even entered).
// include: when given, only files matching one of the patterns are taken; directories are always
// entered (unless excluded), since a pattern like "*.txt" may match deep inside.
import ignore from 'ignore';

export interface PathFilter {
  /** `rel` is '/'-separated and relative to the source root. */
  skipDir(rel: string): boolean;
  skipFile(rel: string): boolean;
}

export function makeFilter(include: readonly string[] = [], exclude: readonly string[] = []): PathFilter {
  // No patterns: skip `ignore` entirely (it caches every path it is asked about).
  if (!include.length && !exclude.length) return { skipDir: () => false, skipFile: () => false };
  const ex = ignore().add([...exclude]);
  const inc = include.length ? ignore().add([...include]) : undefined;
  return {
    skipDir: (rel) => rel !== '' && ex.ignores(`${rel}/`),
    skipFile: (rel) => ex.ignores(rel) || (inc !== undefined && !inc.ignores(rel)),
  };
}
