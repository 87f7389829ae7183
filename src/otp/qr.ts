// Reads the otpauth:// URI (or a bare seed) out of a QR-code image, as `account add --qr` and the
// seed question take it: PNG (pngjs) or JPEG (jpeg-js) decoded, then jsqr. The text is never echoed.
import { OtpBackupError } from '../errors.js';

/** The text of the QR code in a PNG or JPEG file (an otpauth:// URI, usually). Never echoed. */
export async function readQrFile(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new OtpBackupError(
      'usage',
      `--qr: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let image: { data: Uint8Array; width: number; height: number };
  try {
    if (buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
      const { PNG } = (await import('pngjs')).default;
      image = PNG.sync.read(buf);
    } else if (buf[0] === 0xff && buf[1] === 0xd8) {
      const jpeg = (await import('jpeg-js')).default;
      image = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    } else {
      throw new OtpBackupError('usage', `--qr: ${path} is neither a PNG nor a JPEG image`, {
        hint: 'save the QR code as a PNG (a screenshot will do)',
      });
    }
  } catch (e) {
    if (e instanceof OtpBackupError) throw e;
    throw new OtpBackupError('usage', `--qr: ${path} is not a readable image (${(e as Error).message})`);
  }
  // jsqr is CommonJS: at run time (and in its types) the function is also the default's default.
  const jsQR = (await import('jsqr')).default.default;
  const data = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const code = jsQR(data, image.width, image.height);
  if (!code?.data)
    throw new OtpBackupError('usage', `--qr: no QR code found in ${path}`, {
      hint: 'crop the image to the QR code, or pass the seed with --totp-secret-env',
    });
  return code.data.trim();
}
