// basic-ftp's undocumented internals are reached only through src/transport/ftp/basic-ftp-internals.ts.
// This test is where an upgrade of basic-ftp fails: the installed version must be the exact one
// pinned in package.json, every member listed in INTERNAL_MEMBERS must exist on a real Client with
// its type, the internals file may reach no member it does not list, and no other source file may
// reach into basic-ftp at all. In process, no server.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { Client } from 'basic-ftp';
import * as transfer from 'basic-ftp/dist/transfer.js';
import { dataSocketAccessor, INTERNAL_MEMBERS } from '../../src/transport/ftp/basic-ftp-internals.js';
import { ROOT } from '../support/cli.js';

const INTERNALS = join(ROOT, 'src/transport/ftp/basic-ftp-internals.ts');

function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (n.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The code of a TypeScript file without its comments (good enough for member names). */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

describe('basic-ftp pin', () => {
  test('the installed basic-ftp is exactly the version pinned in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const pinned = pkg.dependencies['basic-ftp'];
    assert.match(pinned ?? '', /^\d+\.\d+\.\d+$/, 'basic-ftp must be pinned to an exact version');
    assert.equal(pinned, '6.2.6');
    const installed = JSON.parse(readFileSync(join(ROOT, 'node_modules/basic-ftp/package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(installed.version, pinned, 'node_modules/basic-ftp is not the pinned version');
  });

  test('every internal member used exists on a real Client with the expected type', () => {
    const client = new Client(1000);
    try {
      const c = client as unknown as Record<string, unknown>;
      for (const [name, type] of Object.entries(INTERNAL_MEMBERS.Client))
        assert.equal(typeof c[name], type, `Client.${name}`);
      assert.ok(Array.isArray(client.availableListCommands), 'Client.availableListCommands is an array');
      const ctx = client.ftp as unknown as Record<string, unknown>;
      for (const [name, type] of Object.entries(INTERNAL_MEMBERS.FTPContext))
        assert.equal(typeof ctx[name], type, `FTPContext.${name}`);
      for (const name of INTERNAL_MEMBERS.FTPContextAccessors) {
        const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(client.ftp), name);
        assert.equal(typeof d?.get, 'function', `FTPContext.${name} getter`);
        assert.equal(typeof d?.set, 'function', `FTPContext.${name} setter`);
      }
      assert.doesNotThrow(() => dataSocketAccessor(client.ftp));
      assert.equal(client.ftp.dataSocket, undefined, 'no data socket before a transfer');
      const t = transfer as unknown as Record<string, unknown>;
      for (const [name, type] of Object.entries(INTERNAL_MEMBERS['basic-ftp/dist/transfer.js']))
        assert.equal(typeof t[name], type, `basic-ftp/dist/transfer.js ${name}`);
      // The EPSV parser still reads the reply the way the prefetch relies on.
      assert.equal(transfer.parseEpsvResponse('229 Entering Extended Passive Mode (|||50123|)'), 50123);
      // The default strategy is a probe of EPSV, then PASV; usesEpsv compares against this export.
      assert.equal(typeof client.prepareTransfer, 'function');
    } finally {
      client.close();
    }
  });

  test('the internals file reaches no member it does not list', () => {
    const src = code(INTERNALS);
    const listed = new Set<string>([
      ...Object.keys(INTERNAL_MEMBERS.Client),
      ...Object.keys(INTERNAL_MEMBERS.FTPContext),
      ...INTERNAL_MEMBERS.FTPContextAccessors,
    ]);
    const used = new Set<string>();
    for (const m of src.matchAll(/\b(?:client\.ftp|ftp|ctx)\.(\w+)/g)) used.add(m[1]!);
    for (const m of src.matchAll(/\bclient\.(\w+)/g)) if (m[1] !== 'ftp') used.add(m[1]!);
    assert.ok(used.size >= 10, `the scan found the members (${[...used].join(', ')})`);
    const unlisted = [...used].filter((m) => !listed.has(m) && m !== 'bind' && m !== 'write');
    assert.deepEqual(
      unlisted,
      [],
      'members used in basic-ftp-internals.ts but missing from INTERNAL_MEMBERS',
    );
  });

  test('no other source file reaches into basic-ftp internals', () => {
    const offenders: string[] = [];
    for (const f of sources(join(ROOT, 'src'))) {
      if (f === INTERNALS) continue;
      const src = code(f);
      if (
        /\.ftp\.\w|\bclient\.ftp\b|\.prepareTransfer\b|\.availableListCommands\b|basic-ftp\/dist|\b_dataSocket\b/.test(
          src,
        )
      )
        offenders.push(relative(ROOT, f));
    }
    assert.deepEqual(offenders, []);
  });
});
