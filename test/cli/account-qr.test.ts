// `account add --qr FILE`: the image is read (PNG via pngjs, JPEG via jpeg-js) and searched with jsQR.
// No QR encoder is installed, so only the refusals are tested here: a blank PNG (decoded, no code found),
// a file that is no image, and a missing file; none of them writes a config.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pngjs from 'pngjs';
import { otpbackup } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'otpb-qr-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_STATE_HOME: join(home, 'state') };
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');

function blankPng(path: string): void {
  const png = new pngjs.PNG({ width: 64, height: 64 });
  png.data.fill(255);
  writeFileSync(path, pngjs.PNG.sync.write(png));
}

describe('account add --qr', () => {
  it('refuses images without a QR code, non-images and missing files with exit 2', () => {
    const blank = join(home, 'blank.png');
    blankPng(blank);
    const text = join(home, 'not-an-image.png');
    writeFileSync(text, 'otpauth://totp/x?secret=JBSWY3DPEHPK3PXP');
    const cases: [string, RegExp][] = [
      [blank, /no QR code found in .*blank\.png/],
      [text, /neither a PNG nor a JPEG/],
      [join(home, 'missing.png'), /cannot read .*missing\.png \(ENOENT\)/],
    ];
    for (const [file, re] of cases) {
      const r = otpbackup(['account', 'add', 'q', '--url', 'ftp://u@127.0.0.1', '--qr', file, '--no-test'], {
        env,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
      assert.ok(!r.stderr.includes('JBSWY3DPEHPK3PXP'));
    }
    assert.equal(existsSync(configFile), false, 'nothing was saved');
  });

  it('--qr cannot be combined with another seed flag', () => {
    const r = otpbackup(
      ['account', 'add', 'q', '--url', 'ftp://u@h', '--qr', 'x.png', '--totp-secret-env', 'S', '--no-test'],
      { env: { ...env, S: 'JBSWY3DPEHPK3PXP' } },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /only one of --totp-secret-env, --otpauth-uri-env and --qr/);
  });
});
