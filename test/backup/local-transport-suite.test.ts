// The transport conformance suite against the engine tests' LocalTransport fake, so the fake cannot
// drift from the real transports the engine runs on (temp names, sizes in listings, refused names,
// removing what is already gone, errors of the right kind). It has no login: the one-time code cases
// are skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transportSuite } from '../transport/suite.js';
import { LocalTransport } from './local-transport.js';

transportSuite('LocalTransport (engine test fake)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'otpbackup-localtransport-'));
  return {
    remoteBase: '/suite',
    localRoot: () => join(root, 'suite'),
    loginDir: { local: root, remote: '/' },
    login: false,
    secrets: [],
    hashes: [],
    makeTransport: async () => new LocalTransport(root, 4),
    teardown: async () => rmSync(root, { recursive: true, force: true }),
  };
});
