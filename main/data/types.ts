/**
 * The reader interface every data set implements. A reader only decodes: it exposes each
 * split as labels plus raw HWC uint8 pixels. Shuffling, augmentation, normalisation and
 * tensors are shared by all readers (batches.ts), so every data set is fed the same way.
 */
import type { DatasetKind } from '../../shared/ids';
import type { Preprocessing } from './preprocess';

export interface ImageShape {
  height: number;
  width: number;
  channels: 1 | 3;
}

export type SplitName = 'train' | 'test';

export interface SplitSource {
  /** Number of samples. */
  readonly length: number;
  /** Class index of every sample, 0-based, known up front. */
  readonly labels: Uint8Array;
  /**
   * Pixels of the samples at `indices`, concatenated, each `height*width*channels` bytes in
   * HWC order (row-major, channels last). In-memory readers answer at once; streaming
   * readers decode from disk. Rejects with a DatasetError naming the file on bad data.
   */
  read(indices: readonly number[]): Promise<Uint8Array>;
}

export interface Dataset {
  readonly kind: DatasetKind;
  /** Display name, e.g. "CIFAR-10". */
  readonly name: string;
  /** Class names in label order. */
  readonly classes: readonly string[];
  /** Shape of every image as fed to the network (after any resize). */
  readonly shape: ImageShape;
  readonly splits: Readonly<Record<SplitName, SplitSource>>;
  /** A run's own normalisation (and augmentation) over its kind's (./preprocess.ts withInput). */
  readonly preprocessing?: Preprocessing;
}

/**
 * A problem with data on disk: what is wrong, in which file, and what to do. Readers throw
 * this (never a bare parse error) so the UI can show it and register nothing.
 */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    problem: string,
    fix?: string,
  ) {
    super(`${file}: ${problem}${fix ? `. ${fix}` : ''}`);
    this.name = 'DatasetError';
  }
}

/** What a reader learns from a folder without decoding the images: enough to show and to check. */
export interface DatasetSummary {
  kind: DatasetKind;
  name: string;
  classes: string[];
  shape: ImageShape;
  /** Samples per class, per split (index = class). */
  counts: Record<SplitName, number[]>;
  /** Bytes the decoded uint8 pixels of both splits take in memory. */
  decodedBytes: number;
  /** Image folders: files inside class folders that are not read (the first few, and how many in all). */
  skipped?: { files: SkippedFile[]; count: number };
}

/** A file the reader leaves out, named relative to the data set folder, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** Options every reader's `open` accepts. */
export interface OpenOptions {
  /** Above this many decoded bytes, a reader that can stream does; one that cannot refuses with a message. */
  maxInMemoryBytes?: number;
  /** Called as decoding progresses (samples done of total), for progress bars on large sets. */
  onProgress?: (done: number, total: number) => void;
  /** Image folders: side of the square images fed to the network (they are resized to it). */
  size?: number;
}

/** One on-disk format: how to recognise it, check it cheaply, and open it. */
export interface DatasetFormat {
  readonly kind: DatasetKind;
  /** True when `dir` holds this format's files (file names only: cheap). */
  detect(dir: string): boolean;
  /** Check every file's layout and labels without decoding pixels; throws DatasetError. */
  summarize(dir: string, options?: Pick<OpenOptions, 'size'>): Promise<DatasetSummary>;
  /** Load the data set (or prepare to stream it); throws DatasetError and keeps nothing on failure. */
  open(dir: string, options?: OpenOptions): Promise<Dataset>;
  /**
   * Decode every image once and keep none; throws DatasetError naming the first bad file. A
   * format without it is checked by opening it whole (its pixels are then raw bytes, so this
   * costs only a read).
   */
  verify?(dir: string, options?: Pick<OpenOptions, 'size' | 'onProgress'>): Promise<void>;
}

/** Default in-memory budget: 2 GiB of decoded pixels. */
export const DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 1024 ** 3;
