// `account add --qr FILE`: the image is read (PNG via pngjs, JPEG via jpeg-js) and searched with jsQR.
// Success: Debian's qrencode draws an otpauth:// URI as a PNG (re-encoded as JPEG with jpeg-js), and
// the stored account's code must equal oathtool's for that seed. Refusals: a blank PNG, a file that is
// no image, and a missing file; none of them writes a config.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { requireTool } from '../support/require.js';
import { otpbackup } from './helpers.js';

const noTools = requireTool('qrencode', 'oathtool');

const home = mkdtempSync(join(tmpdir(), 'otpb-qr-'));
after(() => rmSync(home, { recursive: true, force: true }));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), XDG_STATE_HOME: join(home, 'state') };
const configFile = join(home, 'cfg', 'otpbackup', 'config.yaml');

function blankPng(path: string): void {
  const png = new pngjs.PNG({ width: 64, height: 64 });
  png.data.fill(255);
  writeFileSync(path, pngjs.PNG.sync.write(png));
}

/** A QR code of `text` as PNG, drawn by qrencode (text via stdin: never in a process argument). */
function qrPng(path: string, text: string): void {
  execFileSync('qrencode', ['-t', 'PNG', '-s', '6', '-m', '4', '-o', path], { input: text });
}

/** The same image as a JPEG (lossy: jsQR must still find the code). */
function pngToJpeg(png: string, out: string): void {
  const img = pngjs.PNG.sync.read(readFileSync(png));
  writeFileSync(out, jpeg.encode({ data: img.data, width: img.width, height: img.height }, 85).data);
}

describe('account add --qr', () => {
  it("stores the seed of a PNG and a JPEG QR code: its code equals oathtool's", {
    skip: noTools,
  }, () => {
    // Its own config dir: the refusal test below checks that nothing was written to the other.
    const okEnv = {
      ...env,
      XDG_CONFIG_HOME: join(home, 'cfg-ok'),
      OTPBACKUP_PASSPHRASE: 'qr-test-passphrase',
    };
    const okConfig = join(home, 'cfg-ok', 'otpbackup', 'config.yaml');
    const cases = [
      { name: 'qrpng', seed: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', alg: 'SHA256', digits: 8, period: 60 },
      { name: 'qrjpeg', seed: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', alg: 'SHA1', digits: 6, period: 30 },
    ];
    for (const c of cases) {
      const uri = `otpauth://totp/Example:alice?secret=${c.seed}&issuer=Example&algorithm=${c.alg}&digits=${c.digits}&period=${c.period}`;
      const png = join(home, `${c.name}.png`);
      qrPng(png, uri);
      let file = png;
      if (c.name === 'qrjpeg') {
        file = join(home, `${c.name}.jpg`);
        pngToJpeg(png, file);
      }
      const add = otpbackup(
        [
          'account',
          'add',
          c.name,
          '--url',
          'ftp://u@127.0.0.1/b',
          '--qr',
          file,
          '--no-test',
          '--store',
          'vault',
        ],
        { env: okEnv },
      );
      assert.equal(add.status, 0, add.stderr);
      const cfg = readFileSync(okConfig, 'utf8');
      assert.ok(!cfg.includes(c.seed), 'the seed is not in the config');
      if (c.alg !== 'SHA1') assert.match(cfg, /algorithm: sha256/);
      for (const at of [1_700_000_000, 1_800_000_123]) {
        const ours = otpbackup(['code', c.name, '--at', String(at)], { env: okEnv });
        assert.equal(ours.status, 0, ours.stderr);
        const ref = execFileSync(
          'oathtool',
          [
            `--totp=${c.alg.toLowerCase()}`,
            '-b',
            `--digits=${c.digits}`,
            `--time-step-size=${c.period}s`,
            `--now=@${at}`,
            '-',
          ],
          { input: c.seed, encoding: 'utf8' },
        ).trim();
        assert.equal(ours.stdout.trim(), ref, `${c.name} at ${at}`);
      }
    }
  });

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
