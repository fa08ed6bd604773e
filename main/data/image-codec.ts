/**
 * PNG and JPEG in, RGB out. Two jobs: a cheap header check that reads only the first bytes
 * of a file (format and size, so a whole folder can be checked before anything is decoded),
 * and a full decode to 3-channel uint8 HWC pixels (grey is repeated, alpha is dropped).
 * The format comes from the bytes, not the file name, so a JPEG saved as .png still opens.
 */
import fs from 'node:fs';
import { decode as decodeJpegBytes } from 'jpeg-js';
import { PNG } from 'pngjs';
import { DatasetError } from './types';

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
}

/** Decoded pixels: `width*height*3` bytes, row-major RGB. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** What the first bytes of a file say: an image, not enough bytes yet, or not an image we read. */
export type SniffResult =
  | { kind: 'image'; header: ImageHeader }
  | { kind: 'need-more' }
  | { kind: 'invalid'; problem: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Signature, IHDR length and type, width, height, bit depth, colour type. */
const PNG_HEADER_BYTES = 8 + 8 + 13;
/** Bit depths each PNG colour type allows (PNG spec, IHDR). */
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
/** Above this a decode would need gigabytes; a real data set image is far smaller. */
const MAX_PIXELS = 100_000_000;

/** First read of a header check; most JPEGs (EXIF included) have their size in here. */
const FIRST_READ = 4096;
/** Later reads double up to this; beyond it a JPEG's size marker is read from the whole file. */
const MAX_HEADER_READ = 64 * 1024;

const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;
const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Reads format and size from the start of a file without decoding it. */
export function sniffImage(bytes: Uint8Array): SniffResult {
  if (bytes.length === 0) return { kind: 'invalid', problem: 'is empty (0 bytes)' };
  if (bytes[0] === 0x89) return sniffPng(bytes);
  if (bytes[0] === 0xff) return sniffJpeg(bytes);
  return { kind: 'invalid', problem: 'is not a PNG or JPEG image (its first bytes match neither signature)' };
}

function sniffPng(b: Uint8Array): SniffResult {
  const shown = Math.min(b.length, PNG_SIGNATURE.length);
  for (let i = 0; i < shown; i++) {
    if (b[i] !== PNG_SIGNATURE[i]) return { kind: 'invalid', problem: 'is not a PNG or JPEG image (its first bytes match neither signature)' };
  }
  if (b.length < PNG_HEADER_BYTES) return { kind: 'invalid', problem: `is cut short: ${b.length} bytes, less than a PNG header` };
  if (u32(b, 8) !== 13 || String.fromCharCode(b[12]!, b[13]!, b[14]!, b[15]!) !== 'IHDR') {
    return { kind: 'invalid', problem: 'is a damaged PNG (its first chunk is not a valid IHDR)' };
  }
  const width = u32(b, 16);
  const height = u32(b, 20);
  const depth = b[24]!;
  const colourType = b[25]!;
  if (!PNG_DEPTHS[colourType]?.includes(depth)) {
    return { kind: 'invalid', problem: `is a damaged PNG (colour type ${colourType} with bit depth ${depth} does not exist)` };
  }
  return checkedSize('png', width, height);
}

/** SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
const isStartOfFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

function sniffJpeg(b: Uint8Array): SniffResult {
  if (b.length < 2) return { kind: 'invalid', problem: 'is cut short: 1 byte, less than a JPEG header' };
  if (b[1] !== 0xd8) return { kind: 'invalid', problem: 'is not a PNG or JPEG image (its first bytes match neither signature)' };
  // Walk the marker segments (APPn with EXIF and ICC data can come first) up to the frame header.
  let at = 2;
  for (;;) {
    if (at + 4 > b.length) return { kind: 'need-more' };
    if (b[at] !== 0xff) return { kind: 'invalid', problem: `is a damaged JPEG (no marker at byte ${at})` };
    const marker = b[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte before a marker
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (marker === 0xda || marker === 0xd9 || marker === 0xd8) {
      return { kind: 'invalid', problem: 'is a damaged JPEG (image data starts before the frame header that gives its size)' };
    }
    const length = u16(b, at + 2);
    if (length < 2) return { kind: 'invalid', problem: `is a damaged JPEG (segment at byte ${at} has length ${length})` };
    if (isStartOfFrame(marker)) {
      if (at + 9 > b.length) return { kind: 'need-more' };
      if (length < 8) return { kind: 'invalid', problem: 'is a damaged JPEG (frame header too short)' };
      return checkedSize('jpeg', u16(b, at + 7), u16(b, at + 5));
    }
    at += 2 + length;
  }
}

function checkedSize(format: ImageFormat, width: number, height: number): SniffResult {
  if (width === 0 || height === 0) return { kind: 'invalid', problem: `is a damaged ${format.toUpperCase()} (its header says ${width}x${height} pixels)` };
  if (width * height > MAX_PIXELS) return { kind: 'invalid', problem: `is ${width}x${height} pixels, more than the ${MAX_PIXELS / 1e6} megapixels a data set image may have` };
  return { kind: 'image', header: { format, width, height } };
}

/** PNG's last chunk; a file cut short while copying loses it, so its absence shows truncation cheaply. */
const PNG_END = [0x49, 0x45, 0x4e, 0x44]; // "IEND"
/** How far from the end IEND may sit: some writers append a few bytes after it. */
const PNG_TAIL = 1024;

/**
 * Checks one image file by reading its first bytes (and, for PNG, its last ones), and
 * returns its format and size. Throws a DatasetError naming the file when it is not a
 * readable PNG or JPEG.
 */
export function readImageHeader(file: string): ImageHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new DatasetError(file, `cannot be opened (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'Check that the file exists and you may read it');
  }
  try {
    const size = fs.fstatSync(fd).size;
    let wanted = Math.min(size, FIRST_READ);
    for (;;) {
      const bytes = readAt(fd, 0, wanted);
      const result = sniffImage(bytes);
      if (result.kind === 'invalid') throw new DatasetError(file, result.problem, FIX_BROKEN);
      if (result.kind === 'image') {
        if (result.header.format === 'png' && !hasPngEnd(readAt(fd, Math.max(0, size - PNG_TAIL), Math.min(size, PNG_TAIL)))) {
          throw new DatasetError(file, 'is cut short: the PNG has no end chunk (IEND)', FIX_BROKEN);
        }
        return result.header;
      }
      if (wanted >= size) throw new DatasetError(file, 'is cut short: the JPEG ends before its frame header', FIX_BROKEN);
      // Doubling keeps the common case to one small read; huge EXIF or ICC blocks fall back to the whole file.
      wanted = wanted >= MAX_HEADER_READ ? size : Math.min(size, wanted * 2);
    }
  } finally {
    fs.closeSync(fd);
  }
}

const FIX_BROKEN = 'Copy the file again from its source, or delete it';

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = fs.readSync(fd, buffer, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}

function hasPngEnd(tail: Uint8Array): boolean {
  for (let i = tail.length - PNG_END.length; i >= 0; i--) {
    if (tail[i] === PNG_END[0] && tail[i + 1] === PNG_END[1] && tail[i + 2] === PNG_END[2] && tail[i + 3] === PNG_END[3]) return true;
  }
  return false;
}

/**
 * Decodes a PNG or JPEG to RGB. Grey images get three equal channels and alpha is dropped
 * (not blended), as PIL's convert('RGB') does; EXIF orientation is ignored, as in torchvision.
 * Throws a plain Error describing the problem; callers add the file name.
 */
export function decodeImage(bytes: Uint8Array): RgbImage {
  const sniffed = sniffImage(bytes);
  if (sniffed.kind === 'invalid') throw new Error(sniffed.problem);
  if (sniffed.kind === 'need-more') throw new Error('is cut short: the JPEG ends before its frame header');
  return sniffed.header.format === 'png' ? decodePng(bytes) : decodeJpeg(bytes);
}

function decodePng(bytes: Uint8Array): RgbImage {
  let png: PNG;
  try {
    // pngjs always hands back 8-bit RGBA: palette, grey and 16-bit images are expanded for us.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    const message = (error as Error).message;
    // pngjs words running out of bytes as a stream error; say what it means.
    throw new Error(/finished stream|unexpected end/i.test(message) ? 'is cut short: the PNG ends before its last pixels' : `is a damaged PNG (${message})`);
  }
  const { width, height } = png;
  const rgba = png.data;
  if (rgba.length < width * height * 4) throw new Error('is a damaged PNG (fewer pixels than its header says)');
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i]!;
    data[j + 1] = rgba[i + 1]!;
    data[j + 2] = rgba[i + 2]!;
  }
  return { width, height, data };
}

function decodeJpeg(bytes: Uint8Array): RgbImage {
  try {
    // jpeg-js repeats grey into three channels and converts CMYK/YCCK itself.
    const image = decodeJpegBytes(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_PIXELS / 1e6 });
    return { width: image.width, height: image.height, data: image.data };
  } catch (error) {
    throw new Error(`is a damaged JPEG (${(error as Error).message})`);
  }
}

/** Reads and decodes one image file; throws a DatasetError naming it on any problem. */
export async function decodeImageFile(file: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'Check that the file exists and you may read it');
  }
  try {
    return decodeImage(bytes);
  } catch (error) {
    throw new DatasetError(file, (error as Error).message, FIX_BROKEN);
  }
}
