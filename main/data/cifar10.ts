/**
 * CIFAR-10, binary version (cifar-10-binary.tar.gz): five training batches and one test batch
 * of 3073-byte records, one label byte then the 32x32 image as three planes (red, green, blue),
 * each row-major. Loaded wholly into memory and reordered to HWC once.
 */
import path from 'node:path';
import {
  checkMemoryBudget,
  findDataFolder,
  forEachChunk,
  imageBytes,
  layoutTable,
  progressCounter,
  readClassNames,
  requiredFileSize,
  scatter,
} from './binary-split';
import { countClasses, memorySplit } from './memory-split';
import { type Dataset, type DatasetFormat, type DatasetSummary, DatasetError, type ImageShape, type OpenOptions, type SplitName } from './types';

const NAME = 'CIFAR-10';
const SHAPE: ImageShape = { height: 32, width: 32, channels: 3 };
const IMAGE_BYTES = imageBytes(SHAPE);
const RECORD_BYTES = 1 + IMAGE_BYTES;
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const FILES: Record<SplitName, readonly string[]> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};
const ALL_FILES = [...FILES.train, ...FILES.test];
const SUBFOLDER = 'cifar-10-batches-bin';
const NEEDS = `CIFAR-10 (binary version, cifar-10-binary.tar.gz) needs ${ALL_FILES.join(', ')}, in the folder itself or in its ${SUBFOLDER} subfolder`;
const REDOWNLOAD = 'The file is damaged or not a CIFAR-10 binary batch; download cifar-10-binary.tar.gz again and unpack it';
// Enough records per read to keep the number of reads low without holding a whole batch.
const CHUNK_RECORDS = 512;
// Pixel (y, x, c) sits in plane c, row y, column x.
const TABLE = layoutTable(SHAPE, (y, x, c) => c * 1024 + y * 32 + x);

interface BatchFile {
  file: string;
  records: number;
}

/** What the file sizes alone tell: where the batches are and how many records each holds. */
interface Layout {
  classes: string[];
  batches: Record<SplitName, BatchFile[]>;
}

/** Record count from the file size: it must be a whole, non-zero number of records. */
function recordCount(file: string): number {
  const size = requiredFileSize(file, NEEDS);
  if (size === 0) throw new DatasetError(file, 'is empty', REDOWNLOAD);
  if (size % RECORD_BYTES !== 0) {
    // CIFAR-100's binary records carry two label bytes; say so rather than "truncated".
    const hint = size % (RECORD_BYTES + 1) === 0 ? ' (it looks like a CIFAR-100 batch, whose records are 3074 bytes)' : '';
    throw new DatasetError(
      file,
      `is ${size} bytes, not a whole number of ${RECORD_BYTES}-byte records (${Math.floor(size / RECORD_BYTES)} records and ${size % RECORD_BYTES} bytes left over): it is truncated or not a CIFAR-10 batch${hint}`,
      REDOWNLOAD,
    );
  }
  return size / RECORD_BYTES;
}

/** Checks every file is there and whole before reading any, so a missing one is reported first. */
function layoutOf(dir: string): Layout {
  const folder = findDataFolder(dir, SUBFOLDER, ALL_FILES) ?? dir;
  const batchesOf = (split: SplitName) =>
    FILES[split].map((name) => {
      const file = path.join(folder, name);
      return { file, records: recordCount(file) };
    });
  const batches = { train: batchesOf('train'), test: batchesOf('test') };
  return { classes: readClassNames(path.join(folder, 'batches.meta.txt'), CLASSES), batches };
}

const imageCount = (batches: BatchFile[]) => batches.reduce((n, b) => n + b.records, 0);

/**
 * Reads a split's label bytes, checking each, and with `pixels` also decodes its images into
 * that HWC buffer in the same pass. Reads chunk by chunk, never a whole batch at once.
 */
async function readSplit(batches: BatchFile[], classCount: number, pixels?: Uint8Array, progress?: (images: number) => void): Promise<Uint8Array> {
  const labels = new Uint8Array(imageCount(batches));
  let first = 0;
  for (const { file, records } of batches) {
    await forEachChunk(file, 0, records * RECORD_BYTES, CHUNK_RECORDS * RECORD_BYTES, (chunk, offset) => {
      const start = first + offset / RECORD_BYTES;
      const count = chunk.length / RECORD_BYTES;
      for (let r = 0; r < count; r++) {
        const label = chunk[r * RECORD_BYTES]!;
        if (label >= classCount) {
          throw new DatasetError(file, `record ${start - first + r} (counting from 0) has label ${label}; CIFAR-10 labels are 0 to ${classCount - 1}`, REDOWNLOAD);
        }
        labels[start + r] = label;
        const image = r * RECORD_BYTES + 1;
        if (pixels) scatter(TABLE, chunk.subarray(image, image + IMAGE_BYTES), pixels, (start + r) * IMAGE_BYTES);
      }
      progress?.(count);
    });
    first += records;
  }
  return labels;
}

export const cifar10Format: DatasetFormat = {
  kind: 'cifar10',

  detect(dir) {
    return findDataFolder(dir, SUBFOLDER, ALL_FILES) !== undefined;
  },

  async summarize(dir): Promise<DatasetSummary> {
    const { classes, batches } = layoutOf(dir);
    const train = await readSplit(batches.train, classes.length);
    const test = await readSplit(batches.test, classes.length);
    return {
      kind: 'cifar10',
      name: NAME,
      classes,
      shape: { ...SHAPE },
      counts: { train: countClasses(train, classes.length), test: countClasses(test, classes.length) },
      decodedBytes: (train.length + test.length) * IMAGE_BYTES,
    };
  },

  async open(dir, options: OpenOptions = {}): Promise<Dataset> {
    const { classes, batches } = layoutOf(dir);
    const total = imageCount(batches.train) + imageCount(batches.test);
    checkMemoryBudget(dir, NAME, total * IMAGE_BYTES, options, 'use a smaller data set');
    const progress = progressCounter(total, options);
    const load = async (split: SplitName) => {
      const pixels = new Uint8Array(imageCount(batches[split]) * IMAGE_BYTES);
      const labels = await readSplit(batches[split], classes.length, pixels, progress);
      return memorySplit(pixels, labels, IMAGE_BYTES);
    };
    const train = await load('train');
    const test = await load('test');
    return { kind: 'cifar10', name: NAME, classes, shape: { ...SHAPE }, splits: { train, test } };
  },
};
