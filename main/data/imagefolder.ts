/**
 * Image-folder data sets, torchvision ImageFolder style: one sub-folder per class holding
 * PNG or JPEG files. Two layouts:
 *   - split:  <dir>/train/<class>/* and <dir>/val/<class>/* (or test/ instead of val/);
 *   - flat:   <dir>/<class>/*, split per class into train and test by a fixed seeded shuffle.
 * Every image is resized (shorter side) and centre-cropped to size x size RGB. Sets that fit
 * the memory budget are decoded once; larger ones are decoded from disk batch by batch.
 * Links inside a class folder are never followed (one could count an image twice, or carry it
 * into another class or split): one that stays inside the folder is skipped and listed, one
 * that leaves it is refused by name. Other files in class folders are skipped and listed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFile, readImageHeader } from './image-codec';
import { countClasses, memorySplit } from './memory-split';
import { createRng, mixSeed, permutation } from './random';
import { resizeAndCenterCrop } from './resize';
import {
  type Dataset,
  type DatasetFormat,
  DatasetError,
  type DatasetSummary,
  DEFAULT_MAX_IN_MEMORY_BYTES,
  type ImageShape,
  type OpenOptions,
  type SkippedFile,
  type SplitName,
  type SplitSource,
} from './types';

export interface ImageFolderOptions extends OpenOptions {
  /** Side of the square images fed to the network (default 32). */
  size?: number;
  /** Flat layout only: share of each class held out for testing (default 0.2). */
  testFraction?: number;
}

export const IMAGE_FOLDER_DEFAULT_SIZE = 32;
export const IMAGE_FOLDER_TEST_FRACTION = 0.2;
/** Fixed forever: changing it would move images between train and test in every flat data set. */
const SPLIT_SEED = 0x5eed;
/** Labels are stored as uint8. */
const MAX_CLASSES = 256;
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
/** Files decoded at once: enough to keep the disk busy while one decodes, few enough to bound memory. */
const DECODE_CONCURRENCY = 16;
/** Header checks run synchronously; hand the event loop back this often so the UI stays live. */
const YIELD_EVERY = 256;
/** Entries looked at per folder by detect(), which must stay cheap on huge trees. */
const DETECT_ENTRIES = 64;
const DETECT_FOLDERS = 8;
/** A data set folder holds a few split or class folders; a folder with more entries is read no further. */
const DETECT_TOP_ENTRIES = 4096;
/** Skipped files named in a summary; the rest are only counted (a folder of notes can hold thousands). */
const SHOWN_SKIPPED = 100;

const LINK_FIX =
  'Links inside a class folder are not followed, since one could put the same images in two classes or in both train and test. ' +
  'Copy the images in, or make the whole class folder the link';
const SHARED_FOLDER_FIX = 'Each class of each split needs a folder of its own, or its images count twice (in two classes, or in both train and test); replace the link with a folder of its own images';

const LAYOUT_HELP =
  'An image folder needs one sub-folder per class holding .png/.jpg images (<folder>/<class>/*.jpg), ' +
  'or train/<class>/ and val/<class>/ (or test/<class>/) folders';

interface Sample {
  file: string;
  label: number;
}

interface Layout {
  root: string;
  name: string;
  classes: string[];
  splits: Record<SplitName, Sample[]>;
  /** Files inside class folders that are not read, with absolute paths. */
  skipped: SkippedFile[];
}

// ---------------------------------------------------------------- listing

interface Entry {
  name: string;
  path: string;
  /** What the entry is, through a link for a link. */
  kind: 'dir' | 'file' | 'other';
  link: boolean;
}

const isHidden = (name: string) => name.startsWith('.');
const isImageName = (name: string) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
/** Code-unit order, not locale order, so every machine lists the same files in the same order. */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function entryKind(dir: string, dirent: fs.Dirent): Entry['kind'] {
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isFile()) return 'file';
  if (!dirent.isSymbolicLink()) return 'other';
  try {
    const stat = fs.statSync(path.join(dir, dirent.name));
    return stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other';
  } catch {
    return 'other'; // a dangling link is not data
  }
}

/** Visible entries of a folder, sorted by name. */
function list(dir: string): Entry[] {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(dir, { withFileTypes: true });
  } catch (error) {
    throw new DatasetError(dir, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'Check that the folder exists and you may read it');
  }
  return dirents
    .filter((d) => !isHidden(d.name))
    .map((d) => ({ name: d.name, path: path.join(dir, d.name), kind: entryKind(dir, d), link: d.isSymbolicLink() }))
    .sort((a, b) => byName(a.name, b.name));
}

/** Up to `limit` visible entries in directory order: enough to recognise a layout without reading it all. */
function peek(dir: string, limit: number): Entry[] {
  const entries: Entry[] = [];
  let handle: fs.Dir | undefined;
  try {
    handle = fs.opendirSync(dir);
    for (let dirent = handle.readSync(); dirent && entries.length < limit; dirent = handle.readSync()) {
      if (!isHidden(dirent.name)) entries.push({ name: dirent.name, path: path.join(dir, dirent.name), kind: entryKind(dir, dirent), link: dirent.isSymbolicLink() });
    }
  } catch {
    return entries;
  } finally {
    handle?.closeSync();
  }
  return entries;
}

/** True when `file` is `dir` or lies under it (both real paths). */
const isWithin = (file: string, dir: string) => file === dir || file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** Why a link inside a class folder is skipped; throws, naming it, when it leads out of the folder. */
function skippedLink(link: string, classDir: string, realClassDir: string): string {
  let target: string;
  try {
    target = fs.realpathSync(link);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'a link to nothing (its target is missing)' : `a link that cannot be followed (${code ?? (error as Error).message})`;
  }
  if (!isWithin(target, realClassDir)) throw new DatasetError(link, `is a link to ${target}, outside its class folder ${classDir}`, LINK_FIX);
  const inside = path.relative(realClassDir, target);
  return `a link to ${inside ? inside : 'its own class folder'} in the same class folder: its images count once, where they are`;
}

/**
 * Every image under a class folder (sub-folders included, as torchvision does), sorted by
 * path. Links are not followed; they and non-image files go to `skipped`.
 */
function imagesUnder(classDir: string, skipped: SkippedFile[]): string[] {
  const realClassDir = fs.realpathSync(classDir);
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of list(dir)) {
      if (entry.link) skipped.push({ file: entry.path, reason: skippedLink(entry.path, classDir, realClassDir) });
      else if (entry.kind === 'dir') walk(entry.path);
      else if (entry.kind === 'file' && isImageName(entry.name)) found.push(entry.path);
      else skipped.push({ file: entry.path, reason: entry.kind === 'file' ? 'not a .png, .jpg or .jpeg file' : 'not a regular file or folder' });
    }
  };
  walk(classDir);
  return found.sort(byName);
}

/**
 * Class folders may themselves be links (a class kept on another disk), but no two may be the
 * same folder or one inside another: their images would count twice.
 */
function checkSeparateFolders(folders: readonly Entry[]): void {
  const real = folders.map((f) => fs.realpathSync(f.path));
  for (let i = 0; i < folders.length; i++) {
    for (let j = i + 1; j < folders.length; j++) {
      const [a, b] = [real[i]!, real[j]!];
      if (a === b) throw new DatasetError(folders[j]!.path, `is the same folder as ${folders[i]!.path} (through a link, both are ${a})`, SHARED_FOLDER_FIX);
      if (isWithin(b, a)) throw new DatasetError(folders[j]!.path, `lies inside ${folders[i]!.path} (through a link, it is ${b})`, SHARED_FOLDER_FIX);
      if (isWithin(a, b)) throw new DatasetError(folders[i]!.path, `lies inside ${folders[j]!.path} (through a link, it is ${a})`, SHARED_FOLDER_FIX);
    }
  }
}

/** Split folder names are matched case-insensitively (Train/, VAL/ ...). */
const findDir = (entries: Entry[], name: string) => entries.find((e) => e.kind === 'dir' && e.name.toLowerCase() === name);

/**
 * A train/ folder starts the split layout only when it holds class folders and no images of
 * its own; otherwise it is a class that happens to be called "train".
 */
function isSplitFolder(dir: string): boolean {
  const entries = list(dir);
  return entries.some((e) => e.kind === 'dir') && !entries.some((e) => e.kind === 'file' && isImageName(e.name));
}

// ---------------------------------------------------------------- layout

/**
 * Class folders of `dir`, refusing images that sit outside any class folder. `split` is the
 * split folder's name with a slash ('val/'), or '' for the data set folder itself.
 */
function classFolders(dir: string, split: string): Entry[] {
  const entries = list(dir);
  const folders = entries.filter((e) => e.kind === 'dir');
  const loose = entries.find((e) => e.kind === 'file' && isImageName(e.name));
  if (folders.length === 0) {
    throw new DatasetError(dir, `has no class folders${loose ? ` (images such as ${loose.name} sit directly in it)` : ''}`, LAYOUT_HELP);
  }
  if (loose) {
    const where = split || 'the data set folder';
    throw new DatasetError(loose.path, `is an image directly in ${where}, outside any class folder`, `Move each image into ${split}<class>/ (the folder name is its label), or out of ${where}`);
  }
  if (folders.length > MAX_CLASSES) {
    throw new DatasetError(dir, `has ${folders.length} class folders; at most ${MAX_CLASSES} classes are supported`, 'Keep a subset of the classes in a new folder');
  }
  return folders;
}

function imagesOfClass(folder: Entry, skipped: SkippedFile[]): string[] {
  const files = imagesUnder(folder.path, skipped);
  if (files.length === 0) {
    throw new DatasetError(folder.path, 'is a class folder with no .png, .jpg or .jpeg images', 'Add images of that class to it, or delete the folder');
  }
  return files;
}

/** Reads the folder structure (names only) into classes and labelled samples per split. */
function scanLayout(dir: string, testFraction: number): Layout {
  const root = path.resolve(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new DatasetError(root, 'does not exist', 'Choose an existing folder');
  }
  if (!stat.isDirectory()) throw new DatasetError(root, 'is not a folder', LAYOUT_HELP);
  const top = list(root);
  const name = path.basename(root);
  const train = findDir(top, 'train');
  return train && isSplitFolder(train.path) ? scanSplitLayout(root, name, top, train) : scanFlatLayout(root, name, testFraction);
}

function scanSplitLayout(root: string, name: string, top: Entry[], train: Entry): Layout {
  const held = findDir(top, 'val') ?? findDir(top, 'test');
  if (!held) {
    throw new DatasetError(root, `has a ${train.name}/ folder but no val/ or test/ folder beside it`, `Add val/<class>/ folders with held-out images, or move the class folders out of ${train.name}/ into the folder itself to have a test split drawn from them`);
  }
  const trainFolders = classFolders(train.path, `${train.name}/`);
  const classes = trainFolders.map((f) => f.name);
  const skipped: SkippedFile[] = [];
  const samples = (folders: Entry[]) =>
    folders.flatMap((folder) => {
      const label = classes.indexOf(folder.name);
      return imagesOfClass(folder, skipped).map((file) => ({ file, label }));
    });
  const heldFolders = classFolders(held.path, `${held.name}/`);
  const unknown = heldFolders.find((f) => !classes.includes(f.name));
  if (unknown) {
    throw new DatasetError(unknown.path, `is a class folder in ${held.name}/ with no matching folder in ${train.name}/`, `Rename it to one of the ${train.name}/ classes, or add ${train.name}/${unknown.name}/ with training images`);
  }
  checkSeparateFolders([...trainFolders, ...heldFolders]);
  const splits = { train: samples(trainFolders), test: samples(heldFolders) };
  return { root, name, classes, splits, skipped };
}

/** Same string, same seed: a class keeps its split when other classes are added or removed. */
function nameSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Test images per class: the fraction, rounded, but at least one and never all. */
function testCount(n: number, testFraction: number): number {
  if (n < 2) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(n * testFraction)));
}

function scanFlatLayout(root: string, name: string, testFraction: number): Layout {
  const folders = classFolders(root, '');
  checkSeparateFolders(folders);
  const classes = folders.map((f) => f.name);
  const splits: Record<SplitName, Sample[]> = { train: [], test: [] };
  const skipped: SkippedFile[] = [];
  folders.forEach((folder, label) => {
    // Files are sorted before the shuffle, so the split does not depend on the file system's order.
    const files = imagesOfClass(folder, skipped);
    const order = permutation(files.length, createRng(mixSeed(SPLIT_SEED, nameSeed(folder.name))));
    const held = new Set(order.subarray(0, testCount(files.length, testFraction)));
    files.forEach((file, i) => splits[held.has(i) ? 'test' : 'train'].push({ file, label }));
  });
  return { root, name, classes, splits, skipped };
}

/**
 * The image files of each split, full size and undecoded, in the data set's own order: what a
 * task that reads whole photographs (super-resolution) trains and tests on.
 */
export function imageFolderFiles(dir: string, testFraction = IMAGE_FOLDER_TEST_FRACTION): Record<SplitName, string[]> {
  const { splits } = scanLayout(dir, testFraction);
  return { train: splits.train.map((s) => s.file), test: splits.test.map((s) => s.file) };
}

// ---------------------------------------------------------------- options

function resolveOptions(options: ImageFolderOptions): { size: number; testFraction: number } {
  const size = options.size ?? IMAGE_FOLDER_DEFAULT_SIZE;
  const testFraction = options.testFraction ?? IMAGE_FOLDER_TEST_FRACTION;
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`[imagefolder] size must be a positive integer, got ${size}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`[imagefolder] testFraction must be between 0 and 1, got ${testFraction}`);
  return { size, testFraction };
}

const shapeOf = (size: number): ImageShape => ({ height: size, width: size, channels: 3 });
const sampleCount = (layout: Layout) => layout.splits.train.length + layout.splits.test.length;

/** Sniffs every image's header; throws a DatasetError naming the first broken file. */
async function checkHeaders(layout: Layout): Promise<void> {
  let done = 0;
  for (const sample of [...layout.splits.train, ...layout.splits.test]) {
    readImageHeader(sample.file);
    if (++done % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

// ---------------------------------------------------------------- reading

/** Runs `task` over `items` with at most `limit` in flight; rejects with the first failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await task(items[index]!, index);
      } catch (error) {
        failed = true; // stop the other workers: the result is lost anyway
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Decodes and resizes `samples` into one HWC buffer, in order. */
async function decodeInto(samples: readonly Sample[], size: number, onDone?: () => void): Promise<Uint8Array> {
  const bytes = size * size * 3;
  const out = new Uint8Array(samples.length * bytes);
  await forEachLimited(samples, DECODE_CONCURRENCY, async (sample, i) => {
    out.set(resizeAndCenterCrop(await decodeImageFile(sample.file), size), i * bytes);
    onDone?.();
  });
  return out;
}

const labelsOf = (samples: readonly Sample[]) => Uint8Array.from(samples, (s) => s.label);

/** A split that decodes its files from disk on every read: for sets larger than the memory budget. */
function streamingSplit(samples: readonly Sample[], size: number): SplitSource {
  return {
    length: samples.length,
    labels: labelsOf(samples),
    read: async (indices) =>
      decodeInto(
        indices.map((i) => {
          const sample = samples[i];
          if (!sample) throw new RangeError(`[imagefolder] sample ${i} is outside 0..${samples.length - 1}`);
          return sample;
        }),
        size,
      ),
  };
}

// ---------------------------------------------------------------- API

/** Classes, counts and decoded size, after checking the layout and every image header (no decoding). */
export async function summarizeImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<DatasetSummary> {
  const { size, testFraction } = resolveOptions(options);
  const layout = scanLayout(dir, testFraction);
  await checkHeaders(layout);
  const counts = (split: SplitName) => countClasses(labelsOf(layout.splits[split]), layout.classes.length);
  return {
    kind: 'imagefolder',
    name: layout.name,
    classes: [...layout.classes],
    shape: shapeOf(size),
    counts: { train: counts('train'), test: counts('test') },
    decodedBytes: sampleCount(layout) * size * size * 3,
    skipped: {
      files: layout.skipped.slice(0, SHOWN_SKIPPED).map(({ file, reason }) => ({ file: path.relative(layout.root, file), reason })),
      count: layout.skipped.length,
    },
  };
}

/**
 * Decodes every image once, as training will (resize and crop included), and keeps none: a
 * file whose header is fine but whose pixels are not (cut short, garbled) is named before the
 * set is registered. The import runs this in a worker thread.
 */
export async function verifyImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<void> {
  const { size, testFraction } = resolveOptions(options);
  const samples = Object.values(scanLayout(dir, testFraction).splits).flat();
  let done = 0;
  options.onProgress?.(0, samples.length);
  await forEachLimited(samples, DECODE_CONCURRENCY, async (sample) => {
    resizeAndCenterCrop(await decodeImageFile(sample.file), size);
    options.onProgress?.(++done, samples.length);
  });
}

/**
 * Opens an image folder: decoded into memory when it fits `maxInMemoryBytes`, streamed from
 * disk otherwise (headers are then checked up front so broken files show before training).
 */
export async function openImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  const { size, testFraction } = resolveOptions(options);
  const layout = scanLayout(dir, testFraction);
  const sampleBytes = size * size * 3;
  const total = sampleCount(layout);
  const base = { kind: 'imagefolder' as const, name: layout.name, classes: layout.classes, shape: shapeOf(size) };

  if (total * sampleBytes > (options.maxInMemoryBytes ?? DEFAULT_MAX_IN_MEMORY_BYTES)) {
    await checkHeaders(layout);
    return { ...base, splits: { train: streamingSplit(layout.splits.train, size), test: streamingSplit(layout.splits.test, size) } };
  }

  let done = 0;
  const progress = () => options.onProgress?.(++done, total);
  const inMemory = async (split: SplitName) => {
    const samples = layout.splits[split];
    return memorySplit(await decodeInto(samples, size, progress), labelsOf(samples), sampleBytes);
  };
  const train = await inMemory('train');
  const test = await inMemory('test');
  return { ...base, splits: { train, test } };
}

/** True when `dir` looks like an image folder: a few class folders holding images (names only). */
export function detectImageFolder(dir: string): boolean {
  const top = peek(dir, DETECT_TOP_ENTRIES).filter((e) => e.kind === 'dir');
  const holdsImages = (folder: Entry) => peek(folder.path, DETECT_ENTRIES).some((e) => e.kind === 'file' && isImageName(e.name));
  const hasImageClasses = (folders: Entry[]) => folders.slice(0, DETECT_FOLDERS).some(holdsImages);
  const train = findDir(top, 'train');
  if (train && hasImageClasses(peek(train.path, DETECT_ENTRIES).filter((e) => e.kind === 'dir'))) return true;
  return hasImageClasses(top);
}

export const imageFolderFormat: DatasetFormat = {
  kind: 'imagefolder',
  detect: detectImageFolder,
  summarize: (dir, options) => summarizeImageFolder(dir, options),
  open: (dir, options) => openImageFolder(dir, options),
  verify: (dir, options) => verifyImageFolder(dir, options),
};
