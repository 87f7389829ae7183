// Fuzzed config.yaml texts: YAML-aware mutations of the fixture configs, alias bombs, random text.
import { readFileSync } from 'node:fs';
import { EDGE_NUMBERS, mutateOnce, NASTY, type Rng, randomString } from './gen.js';

const root = new URL('../../fixtures/config/', import.meta.url);
export const FIXTURES = [
  'valid-full.yaml',
  'valid-minimal.yaml',
  'invalid-many.yaml',
  'invalid-missing.yaml',
].map((f) => readFileSync(new URL(f, root), 'utf8'));

/** YAML that stresses the parser and the schema: tags, anchors, merges, odd keys and scalars. */
const YAML_VALUES = [
  '~',
  'null',
  'true',
  'no',
  'yes',
  'on',
  '[]',
  '{}',
  '[a, [b, {c: d}]]',
  '{a: 1, a: 2}',
  '&x [1, 2]',
  '*x',
  '*undefined_alias',
  '!!binary aGVsbG8=',
  '!!set {a, b}',
  '!!omap [a: 1]',
  '!!timestamp 2001-12-14t21:59:43.10-05:00',
  '!!float .inf',
  '!!int 0x1F',
  '!!str 12',
  '!custom tag',
  '!!js/function "function(){}"',
  '"\\u0000\\r\\n"',
  "'it''s'",
  '|\n  multi\n  line',
  '>-\n  folded',
  '"${PASSWORD}${TOTP}"',
  'env:X',
  'vault:',
  'cmd:"unterminated',
  '"0 0 30 2 *"',
  '"* * * * * * *"',
  '"@reboot"',
  '"60 24 32 13 8"',
  'Mars/Olympus',
  '"(a+)+$"',
  '"[" ',
  ...EDGE_NUMBERS,
];
const YAML_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '<<',
  '? complex',
  '"quoted key"',
  'protocol',
  'otp',
  'secret',
  'schedule',
  'timezone',
  'prompts',
  'sources',
  'account',
  'jobs',
  'accounts',
  'version',
  'retention',
  'template',
  'trust',
  'hostKeys',
  'a'.repeat(300),
];
const YAML_DICT = [
  ...YAML_VALUES,
  ...YAML_KEYS,
  ': ',
  '- ',
  '  ',
  '\t',
  '---',
  '...',
  '%YAML 1.2',
  '#',
  '&a ',
  '*a',
];

/** One YAML-aware mutation: change a value, a key or the indentation of one line. */
function mutateLine(r: Rng, text: string): string {
  const lines = text.split('\n');
  const i = r.int(lines.length);
  const line = lines[i] ?? '';
  const m = /^(\s*-?\s*)([^:#]*):(.*)$/.exec(line);
  switch (r.int(6)) {
    case 0:
      if (m) lines[i] = `${m[1]}${m[2]}: ${r.pick(YAML_VALUES)}`;
      break;
    case 1:
      if (m) lines[i] = `${m[1]}${r.pick(YAML_KEYS)}:${m[3]}`;
      break;
    case 2: // indentation
      lines[i] = r.bool() ? ` ${line}` : line.replace(/^ {1,2}/, '');
      break;
    case 3: // duplicate a line (duplicate keys)
      lines.splice(i, 0, line);
      break;
    case 4: // delete a line
      lines.splice(i, 1);
      break;
    default: // anchors and aliases, including recursion
      lines.push(`x${r.int(3)}: &a [*a, ${r.pick(['*a', '1', '{b: *a}'])}]`);
  }
  return lines.join('\n');
}

export function fuzzConfig(r: Rng): string {
  if (r.bool(0.05)) return randomString(r, 200);
  if (r.bool(0.02)) {
    // Alias bombs: each level doubles the value's size.
    let s = 'a0: &a0 [x, x]\n';
    const n = r.range(5, 40);
    for (let k = 1; k < n; k++) s += `a${k}: &a${k} [*a${k - 1}, *a${k - 1}]\n`;
    return s;
  }
  if (r.bool(0.003)) {
    // Deep nesting: parsers that recurse overflow the stack.
    const depth = r.pick([100, 1_000, 5_000, 20_000]);
    return r.bool()
      ? `a: ${'['.repeat(depth)}${']'.repeat(depth)}`
      : `a: ${'{b: '.repeat(depth)}1${'}'.repeat(depth)}`;
  }
  let s = r.pick(FIXTURES);
  const n = r.range(1, 4);
  for (let k = 0; k < n; k++) s = r.bool(0.6) ? mutateLine(r, s) : mutateOnce(r, s, YAML_DICT);
  if (r.bool(0.05)) s = s.replace(/\n/g, r.pick(['\r\n', '\r', '\u2028']));
  if (r.bool(0.03)) s = `\ufeff${s}`;
  if (r.bool(0.03)) s = s.slice(0, r.int(s.length)) + r.pick(NASTY);
  return s;
}
