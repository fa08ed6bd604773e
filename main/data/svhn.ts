/**
 * SVHN cropped digits ("format 2"): train_32x32.mat, test_32x32.mat and optional
 * extra_32x32.mat, MATLAB level-5 files each holding X (32x32x3xN uint8, column-major) and
 * y (N labels, 10 meaning the digit 0). Loaded wholly into memory: X is decoded straight
 * from the file into the HWC buffer of its split, with no intermediate copy.
 */
import path from 'node:path';
import { checkMemoryBudget, imageBytes, isFile, layoutTable, progressCounter, scatter } from './binary-split';
import { type MatVariable, readMatVariables } from './matlab';
import { countClasses, memorySplit } from './memory-split';
import { type Dataset, type DatasetFormat, DatasetError, type DatasetSummary, type ImageShape, type OpenOptions, type SplitName } from './types';

export interface SvhnOptions extends OpenOptions {
  /** Add the 531k images of extra_32x32.mat to the training split (off by default: ~1.6 GB). */
  includeExtra?: boolean;
}

/** The usual summary (train without extra unless asked), plus what extra_32x32.mat would add. */
export interface SvhnSummary extends DatasetSummary {
  /** The extra split when its file is present (whether or not it is included), else null. */
  extra: { counts: number[]; decodedBytes: number } | null;
}

/** SVHN's reader; `summarize` and `open` also take `includeExtra`. */
export interface SvhnFormat extends DatasetFormat {
  summarize(dir: string, options?: SvhnOptions): Promise<SvhnSummary>;
  open(dir: string, options?: SvhnOptions): Promise<Dataset>;
}

const NAME = 'SVHN';
const SHAPE: ImageShape = { height: 32, width: 32, channels: 3 };
const IMAGE_BYTES = imageBytes(SHAPE);
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const TRAIN = 'train_32x32.mat';
const TEST = 'test_32x32.mat';
const EXTRA = 'extra_32x32.mat';
const NEEDS = `SVHN (cropped digits, format 2) needs ${TRAIN} and ${TEST} (${EXTRA} is optional), as downloaded from ufldl.stanford.edu/housenumbers`;
const REDOWNLOAD = 'The file is damaged or not an SVHN cropped-digits file; download it again';
const WRONG_FILE = `SVHN cropped-digit files hold X (32x32x3xN uint8 images) and y (N labels, 1 to 10); use ${TRAIN}, ${TEST} or ${EXTRA} from ufldl.stanford.edu/housenumbers (format 2, not the full-numbers format 1)`;
// X element (h, w, c, n) is at h + 32w + 1024c + 3072n: column-major, h the row.
const TABLE = layoutTable(SHAPE, (y, x, c) => y + 32 * x + 1024 * c);

/** A checked file: its image count and 0-based labels. */
interface MatFile {
  file: string;
  count: number;
  labels: Uint8Array;
}

/** Finds X's image count in its header, refusing anything but 32x32x3xN uint8. */
function imageCount(file: string, x: MatVariable | undefined, names: string[]): number {
  if (!x) throw new DatasetError(file, `has no variable "X" (its variables: ${names.join(', ') || 'none'})`, WRONG_FILE);
  if (x.className !== 'uint8' || x.storage !== 'uint8' || x.complex) {
    throw new DatasetError(file, `has X of class ${x.complex ? 'complex ' : ''}${x.className}${x.storage && x.storage !== x.className ? ` (stored as ${x.storage})` : ''}, not uint8`, WRONG_FILE);
  }
  // MATLAB drops trailing singleton dimensions, so a single image is 32x32x3.
  const [h, w, c, n = 1, ...rest] = x.dims;
  if (h !== 32 || w !== 32 || c !== 3 || rest.some((d) => d !== 1)) {
    throw new DatasetError(file, `has X of dimensions ${x.dims.join('x')}, not 32x32x3xN`, WRONG_FILE);
  }
  if (n === 0) throw new DatasetError(file, 'has no images (X is 32x32x3x0)', REDOWNLOAD);
  return n;
}

/** Out-of-range labels named in a message; the rest are only counted. */
const SHOWN_BAD_LABELS = 5;
/** What to do about labels outside 1..10; a 0 usually means someone rewrote the digit 0's 10 as 0. */
const FIX_LABELS = 'SVHN labels are 1 to 10, with 10 for the digit 0 (0 is not a label in this format). Write 10 for every 0 if you converted the file, or download it again';

/** Labels from y: N values, each an integer 1..10 (10 meaning the digit 0); every bad one is counted. */
function labelsOf(file: string, y: MatVariable | undefined, names: string[], count: number): Uint8Array {
  if (!y) throw new DatasetError(file, `has no variable "y" (its variables: ${names.join(', ') || 'none'})`, WRONG_FILE);
  if (!y.data || y.complex) throw new DatasetError(file, `has y of class ${y.complex ? 'complex ' : ''}${y.className}, not a real numeric array`, WRONG_FILE);
  const vector = y.dims.filter((d) => d !== 1).length <= 1;
  if (!vector || y.data.length !== count) {
    throw new DatasetError(file, `has y of dimensions ${y.dims.join('x')}, but X holds ${count} images, so y should be ${count}x1; the file is truncated or inconsistent`, REDOWNLOAD);
  }
  const labels = new Uint8Array(count);
  const bad: string[] = [];
  let badCount = 0;
  for (let i = 0; i < count; i++) {
    const value = Number(y.data[i]);
    if (Number.isInteger(value) && value >= 1 && value <= 10) {
      labels[i] = value % 10;
    } else if (badCount++ < SHOWN_BAD_LABELS) {
      bad.push(`y(${i + 1}) = ${value}`);
    }
  }
  if (badCount > 0) {
    const more = badCount > bad.length ? ` and ${badCount - bad.length} more` : '';
    throw new DatasetError(file, `has ${badCount} label${badCount === 1 ? '' : 's'} outside 1 to 10 (of ${count}): ${bad.join(', ')}${more} (positions count from 1, as in MATLAB)`, FIX_LABELS);
  }
  return labels;
}

/** Checks one file from X's header and y's values, without reading X's pixels. */
async function inspectFile(file: string): Promise<MatFile> {
  const { variables, names } = await readMatVariables(file, ['X', 'y'], (header) => (header.name === 'X' ? 'skip' : 'collect'));
  const count = imageCount(file, variables.get('X'), names);
  return { file, count, labels: labelsOf(file, variables.get('y'), names, count) };
}

/** Decodes X of each file, in order, into one HWC buffer; `progress` gets images as they complete. */
async function decodeInto(files: MatFile[], pixels: Uint8Array, progress: (images: number) => void): Promise<void> {
  let base = 0;
  for (const { file, count } of files) {
    let done = 0;
    const { variables, names } = await readMatVariables(file, ['X'], (header) => {
      if (header.name !== 'X') return 'skip';
      // The header was checked by inspectFile; a different count means the file changed since.
      if (imageCount(file, { ...header, data: null }, []) !== count) {
        throw new DatasetError(file, 'changed while it was being read', 'Wait for whatever is writing it to finish, then open the data set again');
      }
      return (chunk, offset) => {
        scatter(TABLE, chunk, pixels, base + offset);
        const complete = Math.floor((offset + chunk.length) / IMAGE_BYTES);
        progress(complete - done);
        done = complete;
      };
    });
    imageCount(file, variables.get('X'), names);
    base += count * IMAGE_BYTES;
  }
}

function joinLabels(files: MatFile[]): Uint8Array {
  const labels = new Uint8Array(files.reduce((n, f) => n + f.count, 0));
  let at = 0;
  for (const f of files) {
    labels.set(f.labels, at);
    at += f.count;
  }
  return labels;
}

/** The files of each split; extra joins train only when asked for (and must then exist). */
async function inspect(dir: string, includeExtra: boolean): Promise<{ splits: Record<SplitName, MatFile[]>; extra: MatFile | null }> {
  const files = [TRAIN, TEST].map((name) => path.join(dir, name));
  // Report every missing required file's absence before reading anything.
  for (const file of files) if (!isFile(file)) throw new DatasetError(file, 'is missing', NEEDS);
  const extraFile = path.join(dir, EXTRA);
  if (includeExtra && !isFile(extraFile)) {
    throw new DatasetError(extraFile, 'is missing, but the extra split was asked for', `Put ${EXTRA} in the folder, or open SVHN without the extra split`);
  }
  const train = await inspectFile(files[0]!);
  const test = await inspectFile(files[1]!);
  const extra = isFile(extraFile) ? await inspectFile(extraFile) : null;
  return { splits: { train: includeExtra && extra ? [train, extra] : [train], test: [test] }, extra };
}

export const svhnFormat: SvhnFormat = {
  kind: 'svhn',

  detect(dir) {
    return [TRAIN, TEST, EXTRA].some((name) => isFile(path.join(dir, name)));
  },

  /** Reads X's header and y of every file present, extra included, so a broken extra is reported too. */
  async summarize(dir, options: SvhnOptions = {}): Promise<SvhnSummary> {
    const { splits, extra } = await inspect(dir, options.includeExtra ?? false);
    const train = joinLabels(splits.train);
    const test = joinLabels(splits.test);
    return {
      kind: 'svhn',
      name: NAME,
      classes: [...CLASSES],
      shape: { ...SHAPE },
      counts: { train: countClasses(train, CLASSES.length), test: countClasses(test, CLASSES.length) },
      decodedBytes: (train.length + test.length) * IMAGE_BYTES,
      extra: extra && { counts: countClasses(extra.labels, CLASSES.length), decodedBytes: extra.count * IMAGE_BYTES },
    };
  },

  async open(dir, options: SvhnOptions = {}): Promise<Dataset> {
    const includeExtra = options.includeExtra ?? false;
    const { splits } = await inspect(dir, includeExtra);
    const labels = { train: joinLabels(splits.train), test: joinLabels(splits.test) };
    const total = labels.train.length + labels.test.length;
    checkMemoryBudget(dir, NAME, total * IMAGE_BYTES, options, includeExtra ? `open it without ${EXTRA}` : 'use a smaller data set');
    const progress = progressCounter(total, options);
    const load = async (split: SplitName) => {
      const pixels = new Uint8Array(labels[split].length * IMAGE_BYTES);
      await decodeInto(splits[split], pixels, progress);
      return memorySplit(pixels, labels[split], IMAGE_BYTES);
    };
    const train = await load('train');
    const test = await load('test');
    return { kind: 'svhn', name: NAME, classes: [...CLASSES], shape: { ...SHAPE }, splits: { train, test } };
  },
};
