/**
 * Real PNG and JPEG files for tests: writers for single images (solid colours, gradients,
 * grey or with alpha) and makeImageFolder() to lay out a small image-folder data set.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';

/** [r, g, b] or [r, g, b, a], each 0..255; alpha defaults to 255. */
export type Pixel = readonly [number, number, number] | readonly [number, number, number, number];
/** A solid colour, a function of the pixel position, or `width*height*3` RGB bytes. */
export type Pixels = Pixel | ((x: number, y: number) => Pixel) | Uint8Array;

/** PNG colour types as written: RGB, RGBA, grey (the mean of r, g, b) or grey with alpha. */
export type PngColour = 'rgb' | 'rgba' | 'grey' | 'grey-alpha';
const PNG_COLOUR_TYPES = { grey: 0, rgb: 2, 'grey-alpha': 4, rgba: 6 } as const;

/** RGBA bytes for `pixels`, as both encoders take them. */
export function rgbaOf(width: number, height: number, pixels: Pixels): Buffer {
  const out = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const p: Pixel =
        pixels instanceof Uint8Array ? [pixels[i * 3]!, pixels[i * 3 + 1]!, pixels[i * 3 + 2]!] : typeof pixels === 'function' ? pixels(x, y) : pixels;
      out[i * 4] = p[0];
      out[i * 4 + 1] = p[1];
      out[i * 4 + 2] = p[2];
      out[i * 4 + 3] = p[3] ?? 255;
    }
  }
  return out;
}

export function pngBytes(width: number, height: number, pixels: Pixels, colour: PngColour = 'rgb'): Buffer {
  const png = new PNG({ width, height });
  rgbaOf(width, height, pixels).copy(png.data);
  return PNG.sync.write(png, { colorType: PNG_COLOUR_TYPES[colour], inputColorType: 6, inputHasAlpha: true });
}

export function jpegBytes(width: number, height: number, pixels: Pixels, quality = 95): Buffer {
  return encodeJpeg({ width, height, data: rgbaOf(width, height, pixels) }, quality).data;
}

/** CRC-32 as PNG chunks use it (ISO 3309, the zlib polynomial). */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A copy of a PNG whose compressed pixel data (the middle of its first IDAT chunk) is
 * scrambled, with the chunk's CRC recomputed: signature, header, IEND and every checksum a
 * header check reads are intact, only decoding the pixels fails.
 */
export function garblePngPixels(png: Uint8Array): Buffer {
  const out = Buffer.from(png);
  const type = out.indexOf('IDAT');
  if (type < 4) throw new Error('garblePngPixels: no IDAT chunk');
  const length = out.readUInt32BE(type - 4);
  const data = type + 4;
  // Keep the 2-byte zlib header; scramble a stretch of the deflate stream after it.
  for (let i = data + 2 + (length >> 3); i < data + length - 4; i += 3) out[i] = out[i]! ^ 0xa5;
  out.writeUInt32BE(crc32(out.subarray(type, data + length)), data + length);
  return out;
}

function write(file: string, bytes: Uint8Array): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

export function writePng(file: string, width: number, height: number, pixels: Pixels, colour: PngColour = 'rgb'): string {
  return write(file, pngBytes(width, height, pixels, colour));
}

export function writeJpeg(file: string, width: number, height: number, pixels: Pixels, quality = 95): string {
  return write(file, jpegBytes(width, height, pixels, quality));
}

/** One image in a folder layout. Defaults: `<index>.png`, 8x8, mid grey. */
export interface ImageSpec {
  /** File name; its extension picks the format unless `format` is given. */
  name?: string;
  format?: 'png' | 'jpeg';
  width?: number;
  height?: number;
  pixels?: Pixels;
  colour?: PngColour;
}

/**
 * Writes a folder tree: keys are folder paths relative to `root` (e.g. 'train/cat' or 'cat'),
 * values the images in them; an empty list makes an empty folder. Returns the files written.
 */
export function makeImageFolder(root: string, layout: Readonly<Record<string, readonly ImageSpec[]>>): string[] {
  const files: string[] = [];
  for (const [folder, images] of Object.entries(layout)) {
    const dir = path.join(root, folder);
    fs.mkdirSync(dir, { recursive: true });
    images.forEach((spec, index) => {
      const format = spec.format ?? (spec.name && /\.jpe?g$/i.test(spec.name) ? 'jpeg' : 'png');
      const file = path.join(dir, spec.name ?? `${index}.${format === 'jpeg' ? 'jpg' : 'png'}`);
      const { width = 8, height = 8, pixels = [128, 128, 128] } = spec;
      files.push(format === 'jpeg' ? writeJpeg(file, width, height, pixels) : writePng(file, width, height, pixels, spec.colour));
    });
  }
  return files;
}
