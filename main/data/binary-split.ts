/**
 * Shared pieces of the readers that load a fixed-layout binary data set (CIFAR-10, SVHN,
 * STL-10) wholly into memory: finding the files, reading them in bounded chunks, turning each
 * format's pixel order into HWC, counting classes and checking the memory budget. The loaded
 * split itself is a memory-split.ts `memorySplit`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_MAX_IN_MEMORY_BYTES, DatasetError, type ImageShape, type OpenOptions } from './types';

/** Bytes one decoded image takes. */
export function imageBytes(shape: ImageShape): number {
  return shape.height * shape.width * shape.channels;
}

/**
 * The folder holding a format's files: `dir` itself when any of `names` is there, else the
 * subfolder the official archive unpacks to, else undefined.
 */
export function findDataFolder(dir: string, subfolder: string, names: readonly string[]): string | undefined {
  for (const candidate of [dir, path.join(dir, subfolder)]) {
    if (names.some((name) => isFile(path.join(candidate, name)))) return candidate;
  }
  return undefined;
}

export function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Size of a file the format needs; a missing one is reported with the whole list of needed files. */
export function requiredFileSize(file: string, needs: string): number {
  try {
    const stat = fs.statSync(file);
    if (stat.isFile()) return stat.size;
  } catch {
    // reported below, like a folder in the file's place
  }
  throw new DatasetError(file, 'is missing', needs);
}

/**
 * Class names from an optional text file of one name per line (blank lines ignored), else
 * `defaults`. The file must name exactly as many classes as the format has labels.
 */
export function readClassNames(file: string, defaults: readonly string[]): string[] {
  if (!isFile(file)) return [...defaults];
  const names = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length !== defaults.length) {
    throw new DatasetError(
      file,
      `names ${names.length} classes, but the labels have ${defaults.length}`,
      `Put one class name per line (${defaults.length} lines), or delete the file to use the standard names`,
    );
  }
  return names;
}

/**
 * Calls `fn` with consecutive pieces of `bytes` bytes of `file` starting at `start`, each
 * `chunkBytes` long except perhaps the last, reusing one buffer: whole files are never held.
 * `fn` must copy what it keeps.
 */
export async function forEachChunk(
  file: string,
  start: number,
  bytes: number,
  chunkBytes: number,
  fn: (chunk: Uint8Array, offset: number) => void,
): Promise<void> {
  const handle = await openForReading(file);
  try {
    const buffer = new Uint8Array(Math.min(chunkBytes, bytes));
    for (let offset = 0; offset < bytes; ) {
      const want = Math.min(buffer.length, bytes - offset);
      let filled = 0;
      // A read may return less than asked; only end of file returns nothing.
      while (filled < want) {
        const { bytesRead } = await handle.read(buffer, filled, want - filled, start + offset + filled);
        if (bytesRead === 0) {
          throw new DatasetError(file, `ended at byte ${start + offset + filled}, before the ${start + bytes} bytes it should hold`, 'The file changed or was cut short while being read; copy it again');
        }
        filled += bytesRead;
      }
      fn(buffer.subarray(0, want), offset);
      offset += want;
    }
  } finally {
    await handle.close();
  }
}

async function openForReading(file: string): Promise<fs.promises.FileHandle> {
  try {
    return await fs.promises.open(file, 'r');
  } catch (error) {
    throw new DatasetError(file, `cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'Check that the file exists and is readable');
  }
}

/**
 * Table for `scatter`: entry s is the HWC offset of byte s of one stored image, given where
 * the format stores pixel (y, x, c). Built once per format, it makes the reorder one lookup.
 */
export function layoutTable(shape: ImageShape, storedOffset: (y: number, x: number, c: number) => number): Int32Array {
  const { height, width, channels } = shape;
  // Int32, not Uint32: V8 keeps int32 loads in fast integer arithmetic.
  const table = new Int32Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) table[storedOffset(y, x, c)] = (y * width + x) * channels + c;
    }
  }
  return table;
}

/**
 * Writes stored image bytes `src` into HWC `out`. `at` is where `src` starts in the stored
 * stream of images (any position, so chunks may split an image); the image at stored
 * position k lands at `out[k * imageSize ...]`.
 */
export function scatter(table: Int32Array, src: Uint8Array, out: Uint8Array, at: number): void {
  const size = table.length;
  let within = at % size;
  let base = at - within;
  for (let i = 0; i < src.length; i++) {
    out[base + table[within]!] = src[i]!;
    if (++within === size) {
      within = 0;
      base += size;
    }
  }
}


/**
 * Refuses, before anything is allocated, a data set whose decoded pixels exceed the in-memory
 * budget: these formats cannot stream, so the only ways out are a higher limit or less data.
 */
export function checkMemoryBudget(dir: string, name: string, decodedBytes: number, options: OpenOptions, lessData: string): void {
  const limit = options.maxInMemoryBytes ?? DEFAULT_MAX_IN_MEMORY_BYTES;
  if (decodedBytes <= limit) return;
  throw new DatasetError(
    dir,
    `${name} needs ${formatBytes(decodedBytes)} of memory for its decoded images, more than the ${formatBytes(limit)} allowed, and this format cannot be streamed from disk`,
    `Raise the in-memory limit to at least ${formatBytes(decodedBytes)}, or ${lessData}`,
  );
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** Reports decoding progress across all files of a data set. */
export function progressCounter(total: number, options: OpenOptions): (images: number) => void {
  let done = 0;
  return (images) => {
    done += images;
    options.onProgress?.(done, total);
  };
}
