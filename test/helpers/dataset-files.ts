/**
 * Small data-set files in the real on-disk formats, for tests: CIFAR-10 binary batches,
 * STL-10 binary files, and MATLAB level-5 MAT-files (plain or compressed) such as SVHN's.
 * Every writer takes images as HWC bytes and lays them out as the format's spec says, so a
 * reader that gets a layout wrong returns different pixels.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/** One image: its class (0-based) and its HWC uint8 pixels. */
export interface Sample {
  label: number;
  pixels: Uint8Array;
}

/**
 * A 3-channel HWC image whose every byte depends on (y, x, c) and `seed` differently, so
 * swapped axes, planes or images all show up as wrong values.
 */
export function patternImage(height: number, width: number, seed: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = (seed * 37 + y * 3 + x * 5 + c * 71) & 255;
    }
  }
  return out;
}

/** `count` samples of `height`x`width` pattern images, labels cycling through `labels` classes. */
export function patternSamples(count: number, height: number, width: number, labels = 10, firstSeed = 0): Sample[] {
  return Array.from({ length: count }, (_, i) => ({ label: (firstSeed + i) % labels, pixels: patternImage(height, width, firstSeed + i) }));
}

/** The HWC byte of pixel (y, x, c). */
export const hwcIndex = (width: number, y: number, x: number, c: number) => (y * width + x) * 3 + c;

// ---- CIFAR-10 ----

export const CIFAR10_BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

/** One 3073-byte record: label byte, then the red, green and blue 32x32 planes, rows in order. */
export function cifar10Record(label: number, pixels: Uint8Array): Uint8Array {
  const record = new Uint8Array(3073);
  record[0] = label;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) record[1 + c * 1024 + y * 32 + x] = pixels[hwcIndex(32, y, x, c)]!;
    }
  }
  return record;
}

export function cifar10Batch(samples: readonly Sample[]): Buffer {
  return Buffer.concat(samples.map((s) => cifar10Record(s.label, s.pixels)));
}

/**
 * Writes a CIFAR-10 binary folder: `train` spread in order over the five data batches (as
 * evenly as possible), `test` in test_batch.bin. Returns the folder holding the batches.
 */
export function writeCifar10(
  dir: string,
  sets: { train: readonly Sample[]; test: readonly Sample[] },
  options: { subfolder?: boolean; classNames?: readonly string[] } = {},
): string {
  const folder = options.subfolder ? path.join(dir, 'cifar-10-batches-bin') : dir;
  fs.mkdirSync(folder, { recursive: true });
  const n = sets.train.length;
  CIFAR10_BATCHES.forEach((name, k) => {
    fs.writeFileSync(path.join(folder, name), cifar10Batch(sets.train.slice(Math.floor((k * n) / 5), Math.floor(((k + 1) * n) / 5))));
  });
  fs.writeFileSync(path.join(folder, 'test_batch.bin'), cifar10Batch(sets.test));
  if (options.classNames) fs.writeFileSync(path.join(folder, 'batches.meta.txt'), `${options.classNames.join('\n')}\n\n`);
  return folder;
}

// ---- STL-10 ----

/** One image's 27648 bytes: red, green, blue planes, each column-major (pixel (y, x) at x*96 + y). */
export function stl10Image(pixels: Uint8Array): Uint8Array {
  const out = new Uint8Array(27648);
  for (let c = 0; c < 3; c++) {
    for (let x = 0; x < 96; x++) {
      for (let y = 0; y < 96; y++) out[c * 9216 + x * 96 + y] = pixels[hwcIndex(96, y, x, c)]!;
    }
  }
  return out;
}

/** Writes {split}_X.bin and {split}_y.bin (labels stored 1-based) per split; returns the folder. */
export function writeStl10(
  dir: string,
  sets: { train: readonly Sample[]; test: readonly Sample[] },
  options: { subfolder?: boolean; classNames?: readonly string[] } = {},
): string {
  const folder = options.subfolder ? path.join(dir, 'stl10_binary') : dir;
  fs.mkdirSync(folder, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    fs.writeFileSync(path.join(folder, `${split}_X.bin`), Buffer.concat(sets[split].map((s) => stl10Image(s.pixels))));
    fs.writeFileSync(path.join(folder, `${split}_y.bin`), Uint8Array.from(sets[split], (s) => s.label + 1));
  }
  if (options.classNames) fs.writeFileSync(path.join(folder, 'class_names.txt'), `${options.classNames.join('\n')}\n`);
  return folder;
}

// ---- MATLAB level-5 MAT-files ----

export type MatType = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

const MI: Record<MatType, { mi: number; size: number; mx: number }> = {
  int8: { mi: 1, size: 1, mx: 8 },
  uint8: { mi: 2, size: 1, mx: 9 },
  int16: { mi: 3, size: 2, mx: 10 },
  uint16: { mi: 4, size: 2, mx: 11 },
  int32: { mi: 5, size: 4, mx: 12 },
  uint32: { mi: 6, size: 4, mx: 13 },
  single: { mi: 7, size: 4, mx: 7 },
  double: { mi: 9, size: 8, mx: 6 },
  int64: { mi: 12, size: 8, mx: 14 },
  uint64: { mi: 13, size: 8, mx: 15 },
};

export interface MatVariableSpec {
  name: string;
  /** MATLAB class; 'char' writes a character array (values are UTF-16 code units). */
  className: MatType | 'char';
  dims: readonly number[];
  /** Values in column-major order. */
  values: ArrayLike<number>;
  /** How the values are stored, when narrower than the class (MATLAB stores e.g. small doubles as uint8). */
  storage?: MatType;
}

/** The 128-byte header: text, subsystem offset, version 0x0100, 'IM' (little-endian). */
export function matHeader(text = 'MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024'): Buffer {
  const header = Buffer.alloc(128, 0);
  header.write(text.padEnd(116, ' '), 0, 116, 'latin1');
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  return header;
}

/** A data element: small format for 1-4 bytes (as MATLAB writes them), else tag, data and padding to 8. */
export function matElement(type: number, data: Uint8Array, allowSmall = true): Buffer {
  if (allowSmall && data.length > 0 && data.length <= 4) {
    const out = Buffer.alloc(8);
    out.writeUInt32LE(((data.length << 16) | type) >>> 0, 0);
    out.set(data, 4);
    return out;
  }
  const out = Buffer.alloc(8 + data.length + ((8 - (data.length % 8)) % 8));
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(data.length, 4);
  out.set(data, 8);
  return out;
}

const WRITERS: Record<MatType, (buffer: Buffer, value: number, at: number) => void> = {
  int8: (b, v, at) => b.writeInt8(v, at),
  uint8: (b, v, at) => b.writeUInt8(v, at),
  int16: (b, v, at) => b.writeInt16LE(v, at),
  uint16: (b, v, at) => b.writeUInt16LE(v, at),
  int32: (b, v, at) => b.writeInt32LE(v, at),
  uint32: (b, v, at) => b.writeUInt32LE(v, at),
  single: (b, v, at) => b.writeFloatLE(v, at),
  double: (b, v, at) => b.writeDoubleLE(v, at),
  int64: (b, v, at) => b.writeBigInt64LE(BigInt(v), at),
  uint64: (b, v, at) => b.writeBigUInt64LE(BigInt(v), at),
};

function encodeValues(values: ArrayLike<number>, type: MatType): Buffer {
  const { size } = MI[type];
  const out = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) WRITERS[type](out, values[i]!, i * size);
  return out;
}

/** An miMATRIX element (tag included) holding one numeric or char array. */
export function matMatrix(variable: MatVariableSpec): Buffer {
  const isChar = variable.className === 'char';
  const storage = variable.storage ?? (isChar ? 'uint16' : (variable.className as MatType));
  const flags = Buffer.alloc(8);
  flags.writeUInt32LE(isChar ? 4 : MI[variable.className as MatType].mx, 0);
  const dims = Buffer.alloc(variable.dims.length * 4);
  variable.dims.forEach((d, i) => dims.writeInt32LE(d, i * 4));
  const contents = Buffer.concat([
    matElement(6, flags),
    matElement(5, dims),
    matElement(1, Buffer.from(variable.name, 'latin1')),
    matElement(MI[storage].mi, encodeValues(variable.values, storage)),
  ]);
  const tag = Buffer.alloc(8);
  tag.writeUInt32LE(14, 0);
  tag.writeUInt32LE(contents.length, 4);
  return Buffer.concat([tag, contents]);
}

/** A whole MAT-file; `compressed` wraps each variable in a zlib miCOMPRESSED element, as MATLAB's default -v7 does. */
export function encodeMat(variables: readonly MatVariableSpec[], options: { compressed?: boolean } = {}): Buffer {
  const elements = variables.map((v) => {
    const matrix = matMatrix(v);
    if (!options.compressed) return matrix;
    const deflated = zlib.deflateSync(matrix);
    const tag = Buffer.alloc(8);
    tag.writeUInt32LE(15, 0);
    tag.writeUInt32LE(deflated.length, 4);
    // No padding after compressed data, as MATLAB writes it.
    return Buffer.concat([tag, deflated]);
  });
  return Buffer.concat([matHeader(), ...elements]);
}

// ---- SVHN ----

/** SVHN's X for 32x32 HWC images: 32x32x3xN uint8, column-major, element (h, w, c, n) at h + 32w + 1024c + 3072n. */
export function svhnX(images: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(images.length * 3072);
  images.forEach((pixels, n) => {
    for (let c = 0; c < 3; c++) {
      for (let w = 0; w < 32; w++) {
        for (let h = 0; h < 32; h++) out[h + 32 * w + 1024 * c + 3072 * n] = pixels[hwcIndex(32, h, w, c)]!;
      }
    }
  });
  return out;
}

/**
 * Writes an SVHN cropped-digits file: X from `images` (HWC) and y from `digits` (0..9, stored
 * as SVHN does, 10 for the digit 0), y of class double (the default) or uint8.
 */
export function writeSvhnMat(
  file: string,
  images: readonly Uint8Array[],
  digits: readonly number[],
  options: { compressed?: boolean; yClass?: 'double' | 'uint8' } = {},
): void {
  const n = images.length;
  const x: MatVariableSpec = { name: 'X', className: 'uint8', dims: [32, 32, 3, n], values: svhnX(images) };
  const y: MatVariableSpec = { name: 'y', className: options.yClass ?? 'double', dims: [n, 1], values: digits.map((d) => (d === 0 ? 10 : d)) };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, encodeMat([x, y], options));
}

/** Writes train_32x32.mat, test_32x32.mat and, if given, extra_32x32.mat into `dir`. */
export function writeSvhn(
  dir: string,
  sets: { train: readonly Sample[]; test: readonly Sample[]; extra?: readonly Sample[] },
  options: { compressed?: boolean; yClass?: 'double' | 'uint8' } = {},
): void {
  for (const split of ['train', 'test', 'extra'] as const) {
    const samples = sets[split];
    if (samples) writeSvhnMat(path.join(dir, `${split}_32x32.mat`), samples.map((s) => s.pixels), samples.map((s) => s.label), options);
  }
}

/** The samples' pixels back to back, as a split's read() returns them. */
export function concatPixels(samples: readonly Sample[]): Uint8Array {
  const size = samples[0]?.pixels.length ?? 0;
  const out = new Uint8Array(samples.length * size);
  samples.forEach((s, i) => out.set(s.pixels, i * size));
  return out;
}

/** Indices 0..n-1. */
export const allIndices = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
