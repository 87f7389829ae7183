// Names that are not UTF-8 (#14.2): the escape is reversible for any bytes, never taken by valid
// UTF-8 text, and shown as \xNN.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  carriesRawNames,
  decodeRaw,
  fsPath,
  hasRawBytes,
  rawBytes,
  refuseRawNames,
  showRaw,
} from '../../src/scan/raw-name.js';
import type { ScanResult } from '../../src/scan/types.js';

describe('raw names', () => {
  it('a Latin-1 name decodes to escapes and back to the same bytes', () => {
    const b = Buffer.from('r\xe9sum\xe9.txt', 'latin1');
    const s = decodeRaw(b);
    assert.equal(s, 'r\udce9sum\udce9.txt');
    assert.ok(hasRawBytes(s));
    assert.deepEqual(rawBytes(s), b);
    assert.deepEqual(fsPath(s), b);
    assert.equal(showRaw(s), 'r\\xe9sum\\xe9.txt');
    assert.equal(JSON.parse(JSON.stringify(s)), s, 'JSON keeps the escape');
    assert.match(JSON.stringify(s), /\\udce9/);
  });

  it('valid UTF-8 (astral characters included) is plain text, untouched', () => {
    for (const t of ['caf\u00e9', '\u{1f4a9}', 'x\ufffdy', 'plain', '\u{1f4a9}\u00e9']) {
      const b = Buffer.from(t, 'utf8');
      assert.equal(decodeRaw(b), t);
      assert.equal(hasRawBytes(t), false, `${t} holds no escape (a surrogate pair is not one)`);
      assert.equal(fsPath(t), t);
      assert.equal(showRaw(t), t);
    }
  });

  it('any bytes survive the round trip (2000 random names)', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(1 + (i % 24));
      assert.deepEqual(rawBytes(decodeRaw(b)), b, b.toString('hex'));
    }
    // An astral character right before a raw byte, and a truncated sequence.
    for (const hex of ['f09f92a9e9', 'e282', 'c3', 'eda0bd', 'f09f92']) {
      const b = Buffer.from(hex, 'hex');
      assert.deepEqual(rawBytes(decodeRaw(b)), b, hex);
    }
  });

  it('refuseRawNames fails such files by name, keeps the rest; only SFTP needs it', () => {
    const f = (rel: string) => ({
      rel,
      abs: `/src/${rel}`,
      meta: { size: 1, mtimeNs: '1', ctimeNs: '1', ino: '1' },
    });
    const s: ScanResult = {
      added: [f('ok.txt'), f('r\udce9sum.txt')],
      changed: [f('d\udce9/in.txt')],
      touched: [],
      deleted: [],
      unchanged: 0,
      files: 3,
      bytes: 3,
      problems: [],
    };
    const r = refuseRawNames(s);
    assert.deepEqual(
      [r.added.map((x) => x.rel), r.changed, r.problems.map((p) => [p.path, p.kind])],
      [
        ['ok.txt'],
        [],
        [
          ['/src/r\\xe9sum.txt', 'bad-name'],
          ['/src/d\\xe9/in.txt', 'bad-name'],
        ],
      ],
    );
    assert.equal(refuseRawNames(r), r, 'idempotent');
    assert.deepEqual(['ftp', 'ftps', 'ftps-implicit', 'sftp'].map(carriesRawNames), [
      true,
      true,
      true,
      false,
    ]);
  });
});
