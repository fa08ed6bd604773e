/** RGB frames to PNG bytes with pngjs: fixed filter and compression settings, so the bytes depend only on the pixels. */
import { PNG } from 'pngjs';

export function encodePng(rgb: Uint8Array, width: number, height: number): Buffer {
  if (rgb.length !== width * height * 3) throw new Error(`encodePng: ${rgb.length} bytes is not ${width}x${height} RGB.`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6, filterType: 4 });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, deflateLevel: 6, filterType: 4 });
}

/** PNG bytes back to RGB (for readers and tests). */
export function decodePngRgb(bytes: Buffer): { width: number; height: number; rgb: Uint8Array } {
  const png = PNG.sync.read(bytes);
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; i < png.data.length; i += 4, j += 3) {
    rgb[j] = png.data[i]!;
    rgb[j + 1] = png.data[i + 1]!;
    rgb[j + 2] = png.data[i + 2]!;
  }
  return { width: png.width, height: png.height, rgb };
}
