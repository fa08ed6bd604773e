/**
 * A reader for MATLAB level-5 MAT-files (little-endian), enough for numeric arrays such as
 * SVHN's X and y. The file is read as a stream, element by element, and compressed elements
 * are inflated as they are read, so a large array can be decoded straight into its final
 * buffer (see `MatSink`) without the file or the inflated data ever being held whole.
 *
 * Layout: a 128-byte header, then data elements, each an 8-byte tag (type, byte count) and
 * its data padded to 8 bytes, or a "small" element packing type, count and up to 4 bytes of
 * data into 8 bytes. A variable is an miMATRIX element (array flags, dimensions, name, real
 * part, imaginary part if complex), possibly wrapped in a zlib-compressed miCOMPRESSED one.
 */
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { DatasetError } from './types';

const HEADER_BYTES = 128;
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const COMPLEX_FLAG = 0x0800;
// Big enough that a large array arrives in few pieces, small enough to cost nothing.
const CHUNK_BYTES = 1 << 20;

/** Storage types of numeric data, by miTYPE number: name and bytes per value. */
const NUMERIC_TYPES = new Map<number, { name: MatNumericType; size: number }>([
  [1, { name: 'int8', size: 1 }],
  [2, { name: 'uint8', size: 1 }],
  [3, { name: 'int16', size: 2 }],
  [4, { name: 'uint16', size: 2 }],
  [5, { name: 'int32', size: 4 }],
  [6, { name: 'uint32', size: 4 }],
  [7, { name: 'single', size: 4 }],
  [9, { name: 'double', size: 8 }],
  [12, { name: 'int64', size: 8 }],
  [13, { name: 'uint64', size: 8 }],
]);

/** mxCLASS numbers 1..15, in order. */
const CLASS_NAMES = ['cell', 'struct', 'object', 'char', 'sparse', 'double', 'single', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64'] as const;

export type MatNumericType = 'double' | 'single' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';
export type MatNumericArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** What a variable is, known before its data is read. */
export interface MatHeader {
  name: string;
  /** MATLAB class: a MatNumericType, or 'cell', 'struct', 'char', 'sparse', ... (`class N` if unknown). */
  className: string;
  /** Dimensions in MATLAB order; data is column-major (first index fastest). */
  dims: number[];
  complex: boolean;
  /** How the real part is stored on disk, which may be narrower than the class (e.g. a double array stored as uint8); null for non-numeric classes. */
  storage: MatNumericType | null;
  /** Bytes of the stored real part. */
  storageBytes: number;
}

export interface MatVariable extends MatHeader {
  /** The real part, converted to the class's type; null when skipped, streamed to a sink, or not numeric. */
  data: MatNumericArray | null;
}

/**
 * Receives a variable's stored real part in order, as little-endian bytes of its `storage`
 * type; `offset` is the position of `chunk` in the whole. The chunk is reused after the call.
 */
export type MatSink = (chunk: Uint8Array, offset: number) => void;

/** How to take a numeric variable's data once its header is known. */
export type MatTake = (header: MatHeader) => 'collect' | 'skip' | MatSink;

export interface MatContents {
  /** The wanted variables that were found. */
  variables: Map<string, MatVariable>;
  /** Names of all variables met while looking (every variable in the file when one is missing). */
  names: string[];
}

/**
 * Reads the `wanted` variables of a MAT-file, stopping once all are found. By default each
 * numeric one's data is collected into a typed array; `take` may instead skip it (header
 * only: a cheap check) or stream it to a sink. Throws DatasetError on anything malformed.
 */
export async function readMatVariables(file: string, wanted: readonly string[], take: MatTake = () => 'collect'): Promise<MatContents> {
  const size = await fileSize(file);
  await checkHeader(file, size);
  const variables = new Map<string, MatVariable>();
  const names: string[] = [];
  for (let at = HEADER_BYTES; at < size && variables.size < wanted.length; ) {
    if (size - at < 8) throw truncated(file, `has ${size - at} stray bytes at its end (byte ${at}), too few for a data element`);
    const tag = viewOf(await readRange(file, at, 8));
    const type = tag.getUint32(0, true);
    const bytes = tag.getUint32(4, true);
    if (type >>> 16 !== 0) throw corrupt(file, `has a small data element at byte ${at}, where a variable should start`);
    const end = at + 8 + bytes;
    if (end > size) throw truncated(file, `has a data element at byte ${at} of ${bytes} bytes, but the file ends ${end - size} bytes short of it`);
    // An empty element (bytes 0) is a placeholder with no variable in it.
    if ((type === MI_MATRIX || type === MI_COMPRESSED) && bytes > 0) {
      const where = `the variable at byte ${at}`;
      const stream =
        type === MI_MATRIX ? new ByteStream(fileChunks(file, at + 8, bytes), file, where, 'read') : new ByteStream(inflatedChunks(file, at + 8, bytes), file, where, 'decompressed');
      try {
        // A compressed element holds one whole element, tag included.
        const ok = type === MI_MATRIX || (await stream.tag()).type === MI_MATRIX;
        if (ok) {
          const variable = await readMatrix(stream, wanted, take);
          names.push(variable.name);
          if (wanted.includes(variable.name) && !variables.has(variable.name)) variables.set(variable.name, variable);
        }
      } finally {
        stream.close();
      }
    }
    // Elements are padded to 8 bytes, except compressed ones: MATLAB writes the next tag right after those.
    at = type === MI_COMPRESSED ? end : end + padding(bytes);
  }
  return { variables, names };
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'Check that the file exists and is readable');
  }
}

async function readRange(file: string, start: number, bytes: number): Promise<Uint8Array> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const out = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(out, 0, bytes, start);
    if (bytesRead < bytes) throw truncated(file, `ends at byte ${start + bytesRead}, inside a data element`);
    return out;
  } finally {
    await handle.close();
  }
}

const HDF5_SIGNATURE = '\x89HDF\r\n\x1a\n';

/** The 128-byte header: text, subsystem offset, version and byte order ('IM' = little-endian). */
async function checkHeader(file: string, size: number): Promise<void> {
  const head = await readRange(file, 0, Math.min(size, 520));
  const text = Buffer.from(head.subarray(0, 116)).toString('latin1');
  const hdf5 = head.length >= 520 && Buffer.from(head.subarray(512, 520)).toString('latin1') === HDF5_SIGNATURE;
  if (text.startsWith('MATLAB 7.3 MAT-file') || hdf5) {
    throw new DatasetError(
      file,
      'is a MATLAB v7.3 MAT-file (an HDF5 file), which is not supported: only level-5 MAT-files (v5, v6, v7) can be read',
      "Use SVHN's own files (train_32x32.mat etc.), which are level-5; or re-save the data in MATLAB with save(file, '-v7')",
    );
  }
  if (size < HEADER_BYTES) throw new DatasetError(file, `is ${size} bytes, too short for a MAT-file's 128-byte header`, 'The file is truncated or not a MAT-file; download it again');
  const order = Buffer.from(head.subarray(126, 128)).toString('latin1');
  if (order === 'MI') {
    throw new DatasetError(file, 'is a big-endian MAT-file, which is not supported', "Re-save it on a little-endian machine (any PC or Mac) with save(file, '-v7')");
  }
  if (order !== 'IM' || !text.startsWith('MATLAB')) {
    throw new DatasetError(file, 'is not a MATLAB level-5 MAT-file (no "MATLAB" header text and "IM" byte-order mark)', 'Check the file is the .mat file the data set ships, downloaded completely');
  }
  const version = viewOf(head).getUint16(124, true);
  if (version !== 0x0100) throw new DatasetError(file, `has MAT-file version 0x${version.toString(16)} in its header, not 0x0100 (level 5)`, 'The file is damaged or in an unsupported MAT-file version');
}

const truncated = (file: string, problem: string) => new DatasetError(file, `${problem}: it is truncated`, 'Download the file again; it was cut short');
const corrupt = (file: string, problem: string) => new DatasetError(file, problem, 'The file is damaged or not a MAT-file this reader understands; download it again');

/** Parses an miMATRIX element's contents, after its tag. */
async function readMatrix(stream: ByteStream, wanted: readonly string[], take: MatTake): Promise<MatVariable> {
  const flagsTag = await stream.tag();
  if (flagsTag.type !== MI_UINT32 || flagsTag.bytes !== 8) throw stream.corrupt('does not start with 8 bytes of array flags (miUINT32)');
  const flags = viewOf(await stream.data(flagsTag));
  const word = flags.getUint32(0, true);
  const classNumber = word & 0xff;
  const className = CLASS_NAMES[classNumber - 1] ?? `class ${classNumber}`;
  const complex = (word & COMPLEX_FLAG) !== 0;

  const dimsTag = await stream.tag();
  if (dimsTag.type !== MI_INT32 || dimsTag.bytes % 4 !== 0 || dimsTag.bytes < 8) throw stream.corrupt('has no dimensions array (miINT32) after its flags');
  const dimsView = viewOf(await stream.data(dimsTag));
  const dims = Array.from({ length: dimsTag.bytes / 4 }, (_, i) => dimsView.getInt32(i * 4, true));
  if (dims.some((d) => d < 0)) throw stream.corrupt(`has negative dimensions ${dims.join('x')}`);

  const nameTag = await stream.tag();
  if (nameTag.type !== MI_INT8 && nameTag.type !== MI_UINT8) throw stream.corrupt('has no array name (miINT8) after its dimensions');
  const name = Buffer.from(await stream.data(nameTag)).toString('latin1');

  const header: MatHeader = { name, className, dims, complex, storage: null, storageBytes: 0 };
  const numeric = classNumber >= 6 && classNumber <= 15;
  if (!numeric || !wanted.includes(name)) return { ...header, data: null };

  const realTag = await stream.tag();
  const storage = NUMERIC_TYPES.get(realTag.type);
  if (!storage) throw stream.corrupt(`("${name}") stores its values as data type ${realTag.type}, not a numeric type`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (realTag.bytes !== count * storage.size) {
    throw stream.corrupt(`("${name}", ${dims.join('x')}) holds ${realTag.bytes / storage.size} ${storage.name} values, but its dimensions call for ${count}`);
  }
  header.storage = storage.name;
  header.storageBytes = realTag.bytes;

  const how = take(header);
  if (how === 'skip') return { ...header, data: null };
  if (how !== 'collect') {
    await stream.pipe(realTag, how);
    return { ...header, data: null };
  }
  const bytes = await stream.data(realTag);
  return { ...header, data: convert(bytes, storage.name, className as MatNumericType, count) };
}

/** Converts stored values to the array's class, e.g. a double array MATLAB stored as uint8. */
function convert(bytes: Uint8Array, storage: MatNumericType, className: MatNumericType, count: number): MatNumericArray {
  const view = viewOf(bytes);
  const get = GETTERS[storage];
  const out = newArray(className, count);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    if (storage !== 'int64' && storage !== 'uint64') for (let i = 0; i < count; i++) out[i] = BigInt(get(view, i) as number);
    else for (let i = 0; i < count; i++) out[i] = get(view, i) as bigint;
  } else {
    for (let i = 0; i < count; i++) out[i] = Number(get(view, i));
  }
  return out;
}

type Getter = (view: DataView, i: number) => number | bigint;
const GETTERS: Record<MatNumericType, Getter> = {
  int8: (v, i) => v.getInt8(i),
  uint8: (v, i) => v.getUint8(i),
  int16: (v, i) => v.getInt16(i * 2, true),
  uint16: (v, i) => v.getUint16(i * 2, true),
  int32: (v, i) => v.getInt32(i * 4, true),
  uint32: (v, i) => v.getUint32(i * 4, true),
  single: (v, i) => v.getFloat32(i * 4, true),
  double: (v, i) => v.getFloat64(i * 8, true),
  int64: (v, i) => v.getBigInt64(i * 8, true),
  uint64: (v, i) => v.getBigUint64(i * 8, true),
};

function newArray(className: MatNumericType, count: number): MatNumericArray {
  switch (className) {
    case 'double':
      return new Float64Array(count);
    case 'single':
      return new Float32Array(count);
    case 'int8':
      return new Int8Array(count);
    case 'uint8':
      return new Uint8Array(count);
    case 'int16':
      return new Int16Array(count);
    case 'uint16':
      return new Uint16Array(count);
    case 'int32':
      return new Int32Array(count);
    case 'uint32':
      return new Uint32Array(count);
    case 'int64':
      return new BigInt64Array(count);
    case 'uint64':
      return new BigUint64Array(count);
  }
}

/** Bytes `start .. start+bytes` of a file, read in chunks. */
function fileChunks(file: string, start: number, bytes: number): NodeJS.ReadableStream {
  return fs.createReadStream(file, { start, end: start + bytes - 1, highWaterMark: CHUNK_BYTES });
}

/** The zlib stream at `start .. start+bytes` of a file, inflated as it is read. */
function inflatedChunks(file: string, start: number, bytes: number): NodeJS.ReadableStream {
  // pipeline passes a read error on to the inflater, so it surfaces where the data is consumed.
  return pipeline(fileChunks(file, start, bytes), zlib.createInflate({ chunkSize: CHUNK_BYTES }), () => {});
}

interface Tag {
  type: number;
  bytes: number;
  /** Data of a small element, held in the tag itself. */
  inline?: Uint8Array;
}

/**
 * Pulls bytes of one element from a chunked stream: exact reads for the small parts of an
 * array, and `pipe` for its data, passed on chunk by chunk without gathering it.
 */
class ByteStream {
  private readonly chunks: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(
    private readonly source: NodeJS.ReadableStream,
    private readonly file: string,
    private readonly where: string,
    private readonly verb: 'read' | 'decompressed',
  ) {
    this.chunks = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  }

  corrupt(problem: string): DatasetError {
    return corrupt(this.file, `${this.where} ${problem}`);
  }

  /** Makes the next chunk current; the element ending first means the file was cut short. */
  private async next(): Promise<void> {
    let result: IteratorResult<Uint8Array>;
    try {
      result = await this.chunks.next();
    } catch (error) {
      const message = (error as Error).message;
      if (/unexpected end/i.test(message)) throw truncated(this.file, `has its compressed data end early in ${this.where}`);
      throw this.corrupt(`cannot be ${this.verb} (${message})`);
    }
    if (result.done) throw truncated(this.file, `ends inside ${this.where}`);
    this.chunk = result.value;
    this.pos = 0;
  }

  /** Exactly `n` bytes, copied only when they span chunks. */
  private async take(n: number): Promise<Uint8Array> {
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return out;
    }
    const out = new Uint8Array(n);
    await this.pipe({ type: 0, bytes: n }, (piece, offset) => out.set(piece, offset));
    return out;
  }

  /** A data element's tag, in either the normal or the small format. */
  async tag(): Promise<Tag> {
    const raw = await this.take(8);
    const view = viewOf(raw);
    const first = view.getUint32(0, true);
    // Small format: byte count in the upper half of the first word, data in the second.
    if (first >>> 16 !== 0) {
      const bytes = first >>> 16;
      if (bytes > 4) throw this.corrupt(`has a small data element claiming ${bytes} bytes (at most 4 fit)`);
      return { type: first & 0xffff, bytes, inline: raw.slice(4, 4 + bytes) };
    }
    return { type: first, bytes: view.getUint32(4, true) };
  }

  /** An element's data, then its padding to 8 bytes skipped. */
  async data(tag: Tag): Promise<Uint8Array> {
    if (tag.inline) return tag.inline;
    const out = await this.take(tag.bytes);
    await this.skip(padding(tag.bytes));
    return out;
  }

  /** Passes an element's data on in pieces; the padding after it is left, as nothing follows that we read. */
  async pipe(tag: Tag, sink: MatSink): Promise<void> {
    if (tag.inline) {
      sink(tag.inline, 0);
      return;
    }
    for (let done = 0; done < tag.bytes; ) {
      if (this.pos === this.chunk.length) await this.next();
      const n = Math.min(tag.bytes - done, this.chunk.length - this.pos);
      sink(this.chunk.subarray(this.pos, this.pos + n), done);
      this.pos += n;
      done += n;
    }
  }

  private async skip(n: number): Promise<void> {
    if (n > 0) await this.pipe({ type: 0, bytes: n }, () => {});
  }

  /** Stops reading; what is left of the element is never read or inflated. */
  close(): void {
    const destroyable = this.source as NodeJS.ReadableStream & { destroy?: () => void };
    destroyable.destroy?.();
  }
}

const padding = (bytes: number) => (8 - (bytes % 8)) % 8;
const viewOf = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
