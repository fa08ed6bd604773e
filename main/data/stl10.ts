/**
 * STL-10, binary version (stl10_binary.tar.gz): per split an X file of 96x96x3 uint8 images,
 * each stored channel by channel and column-major within a channel (MATLAB order), and a y
 * file of one label byte per image, 1 to 10. The unlabeled images are not used. Loaded wholly
 * into memory and reordered to HWC once.
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
import { type Dataset, type DatasetFormat, DatasetError, type DatasetSummary, type ImageShape, type OpenOptions, type SplitName } from './types';

const NAME = 'STL-10';
const SHAPE: ImageShape = { height: 96, width: 96, channels: 3 };
const IMAGE_BYTES = imageBytes(SHAPE);
const CLASSES = ['airplane', 'bird', 'car', 'cat', 'deer', 'dog', 'horse', 'monkey', 'ship', 'truck'];
const SPLITS = ['train', 'test'] as const;
const ALL_FILES = SPLITS.flatMap((split) => [`${split}_X.bin`, `${split}_y.bin`]);
const SUBFOLDER = 'stl10_binary';
const NEEDS = `STL-10 (binary version, stl10_binary.tar.gz) needs ${ALL_FILES.join(', ')}, in the folder itself or in its ${SUBFOLDER} subfolder`;
const REDOWNLOAD = 'The file is damaged or not an STL-10 binary file; download stl10_binary.tar.gz again and unpack it';
const CHUNK_IMAGES = 64;
// Pixel (y, x, c) sits in plane c, column x, row y.
const TABLE = layoutTable(SHAPE, (y, x, c) => c * 96 * 96 + x * 96 + y);

interface SplitFiles {
  images: string;
  count: number;
  labels: Uint8Array;
}

interface Inspection {
  classes: string[];
  splits: Record<SplitName, SplitFiles>;
}

/**
 * Checks every file's size and reads the (small) label files; pixels stay on disk. All
 * sizes are checked before any label, so a missing file is reported first.
 */
async function inspect(dir: string): Promise<Inspection> {
  const folder = findDataFolder(dir, SUBFOLDER, ALL_FILES) ?? dir;
  const sized = SPLITS.map((split) => {
    const images = path.join(folder, `${split}_X.bin`);
    const labels = path.join(folder, `${split}_y.bin`);
    return { split, images, imagesSize: requiredFileSize(images, NEEDS), labels, labelsSize: requiredFileSize(labels, NEEDS) };
  });
  const classes = readClassNames(path.join(folder, 'class_names.txt'), CLASSES);
  const splits = {} as Record<SplitName, SplitFiles>;
  for (const { split, images, imagesSize, labels, labelsSize } of sized) {
    if (imagesSize === 0) throw new DatasetError(images, `is empty: the ${split} split has no images`, REDOWNLOAD);
    if (imagesSize % IMAGE_BYTES !== 0) {
      throw new DatasetError(
        images,
        `is ${imagesSize} bytes, not a whole number of ${IMAGE_BYTES}-byte 96x96x3 images (${Math.floor(imagesSize / IMAGE_BYTES)} images and ${imagesSize % IMAGE_BYTES} bytes left over): it is truncated`,
        REDOWNLOAD,
      );
    }
    const count = imagesSize / IMAGE_BYTES;
    if (labelsSize !== count) {
      throw new DatasetError(labels, `holds ${labelsSize} labels but ${images} holds ${count} images; one of the two is truncated or from another download`, REDOWNLOAD);
    }
    splits[split] = { images, count, labels: await readLabels(labels, count, classes.length) };
  }
  return { classes, splits };
}

/** Label bytes 1..N on disk, 0-based classes in memory. */
async function readLabels(file: string, count: number, classCount: number): Promise<Uint8Array> {
  const labels = new Uint8Array(count);
  await forEachChunk(file, 0, count, count, (chunk) => {
    chunk.forEach((value, i) => {
      if (value < 1 || value > classCount) {
        throw new DatasetError(file, `label ${i} (counting from 0) is ${value}; STL-10 labels are 1 to ${classCount}`, REDOWNLOAD);
      }
      labels[i] = value - 1;
    });
  });
  return labels;
}

function summaryOf({ classes, splits }: Inspection): DatasetSummary {
  return {
    kind: 'stl10',
    name: NAME,
    classes,
    shape: { ...SHAPE },
    counts: { train: countClasses(splits.train.labels, classes.length), test: countClasses(splits.test.labels, classes.length) },
    decodedBytes: (splits.train.count + splits.test.count) * IMAGE_BYTES,
  };
}

export const stl10Format: DatasetFormat = {
  kind: 'stl10',

  detect(dir) {
    return findDataFolder(dir, SUBFOLDER, ALL_FILES) !== undefined;
  },

  async summarize(dir) {
    return summaryOf(await inspect(dir));
  },

  async open(dir, options: OpenOptions = {}): Promise<Dataset> {
    const inspection = await inspect(dir);
    const { decodedBytes } = summaryOf(inspection);
    checkMemoryBudget(dir, NAME, decodedBytes, options, 'use a smaller data set');
    const progress = progressCounter(decodedBytes / IMAGE_BYTES, options);
    const load = async ({ images, count, labels }: SplitFiles) => {
      const pixels = new Uint8Array(count * IMAGE_BYTES);
      await forEachChunk(images, 0, count * IMAGE_BYTES, CHUNK_IMAGES * IMAGE_BYTES, (chunk, offset) => {
        scatter(TABLE, chunk, pixels, offset);
        progress(chunk.length / IMAGE_BYTES);
      });
      return memorySplit(pixels, labels, IMAGE_BYTES);
    };
    const train = await load(inspection.splits.train);
    const test = await load(inspection.splits.test);
    return { kind: 'stl10', name: NAME, classes: inspection.classes, shape: { ...SHAPE }, splits: { train, test } };
  },
};
