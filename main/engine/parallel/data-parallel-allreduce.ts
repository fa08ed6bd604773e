/**
 * The all-reduce of data-parallel training (./data-parallel-trainer.ts), in shared memory: every
 * worker writes its shard's gradients (and its BatchNorm statistics) into its own row of one
 * SharedArrayBuffer, waits at a barrier, sums its own slice of the columns over all rows
 * (weighted by shard size) into a shared result row, waits again, and then reads the whole
 * result. Nothing goes through an event loop; every worker reads the same result bytes, so every
 * worker applies the same update. Workers block in Atomics.wait, which worker threads may do.
 *
 * The sum runs in float64, in row order 0..N-1, as (sum_i b_i * row_i) / B, where b_i is worker
 * i's shard size and B the batch: the mean-reduced loss of the whole batch has exactly this
 * gradient when each shard's loss is its own mean. A value every worker holds alike comes back
 * unchanged (b_i * v is exact in float64, and B * v / B rounds back to v).
 */

const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
/** How long one wait lasts before the abort flag is checked again (ms). */
const WAIT_SLICE_MS = 100;

/** The shared memory of one data-parallel group: plain data, so it crosses to the workers in workerData. */
export interface AllReduceBuffers {
  workers: number;
  /** Values per row: gradients of the trainable variables, then the synchronised state. */
  length: number;
  /** Trainable variables: one "has a gradient this step" flag each, per worker. */
  variables: number;
  control: SharedArrayBuffer;
  rows: SharedArrayBuffer;
  result: SharedArrayBuffer;
  flags: SharedArrayBuffer;
}

export function allocateAllReduce(workers: number, length: number, variables: number): AllReduceBuffers {
  if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`an all-reduce needs a whole number of workers >= 1, got ${workers}`);
  return {
    workers,
    length,
    variables,
    control: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
    rows: new SharedArrayBuffer(workers * length * Float32Array.BYTES_PER_ELEMENT),
    result: new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT),
    flags: new SharedArrayBuffer(workers * variables),
  };
}

/** Thrown in a worker waiting at a barrier once the group is aborted (another worker failed). */
export class AllReduceAborted extends Error {
  constructor() {
    super('data-parallel training was stopped (another worker failed or the run ended)');
    this.name = 'AllReduceAborted';
  }
}

/** Stop the group: every worker waiting at a barrier, or arriving at one later, throws AllReduceAborted. */
export function abortAllReduce(buffers: AllReduceBuffers): void {
  const control = new Int32Array(buffers.control);
  Atomics.store(control, ABORT, 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

/** One worker's side of the group. */
export class AllReduce {
  private readonly control: Int32Array;
  private readonly rows: Float32Array;
  private readonly flagRows: Uint8Array;
  readonly result: Float32Array;
  /** This worker's row, to write its values into before the first barrier. */
  readonly row: Float32Array;
  /** This worker's "has a gradient" flags, one per trainable variable. */
  readonly flags: Uint8Array;

  constructor(
    private readonly buffers: AllReduceBuffers,
    readonly rank: number,
  ) {
    if (!(Number.isInteger(rank) && rank >= 0 && rank < buffers.workers)) throw new RangeError(`worker rank ${rank} is outside 0..${buffers.workers - 1}`);
    this.control = new Int32Array(buffers.control);
    this.rows = new Float32Array(buffers.rows);
    this.flagRows = new Uint8Array(buffers.flags);
    this.result = new Float32Array(buffers.result);
    this.row = this.rows.subarray(rank * buffers.length, (rank + 1) * buffers.length);
    this.flags = this.flagRows.subarray(rank * buffers.variables, (rank + 1) * buffers.variables);
  }

  /** Wait until every worker of the group has arrived (a reusable barrier: count, then a generation bump). */
  barrier(): void {
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.load(this.control, ABORT)) throw new AllReduceAborted();
    if (Atomics.add(this.control, COUNT, 1) === this.buffers.workers - 1) {
      Atomics.store(this.control, COUNT, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    while (Atomics.load(this.control, GENERATION) === generation) Atomics.wait(this.control, GENERATION, generation, WAIT_SLICE_MS);
    if (Atomics.load(this.control, ABORT)) throw new AllReduceAborted();
  }

  /**
   * Between the two barriers: this worker's slice of the columns, summed over the rows with
   * weight shardSizes[i] / (their sum); rows of empty shards are skipped (their contents are stale).
   */
  reduceOwnSlice(shardSizes: readonly number[]): void {
    const { workers, length } = this.buffers;
    const total = shardSizes.reduce((a, b) => a + b, 0);
    if (shardSizes.length !== workers || !(total > 0)) throw new RangeError(`shard sizes [${shardSizes.join(', ')}] must name ${workers} workers and at least one image`);
    const chunk = Math.ceil(length / workers);
    const from = Math.min(length, this.rank * chunk);
    const to = Math.min(length, from + chunk);
    const active = shardSizes.flatMap((size, i) => (size > 0 ? [{ size, offset: i * length }] : []));
    const rows = this.rows;
    for (let k = from; k < to; k++) {
      let sum = 0;
      for (const { size, offset } of active) sum += size * rows[offset + k]!;
      this.result[k] = sum / total;
    }
  }

  /** After the second barrier: whether any worker had a gradient for trainable variable `index`. */
  anyHas(index: number): boolean {
    const { workers, variables } = this.buffers;
    for (let i = 0; i < workers; i++) if (this.flagRows[i * variables + index]) return true;
    return false;
  }
}

/** Shard sizes of a batch of `batch` images over `workers`: as even as possible, at least 2 images per non-empty shard (BatchNorm needs 2), in order. */
export function shardSizes(batch: number, workers: number): number[] {
  const active = Math.max(1, Math.min(workers, Math.floor(batch / 2)));
  return Array.from({ length: workers }, (_, i) => (i < active ? Math.floor(batch / active) + (i < batch % active ? 1 : 0) : 0));
}

/** A checksum of float32 values' bits (FNV-1a over 32-bit words): replicas that hold the same state give the same one. */
export function stateChecksum(...arrays: Float32Array[]): number {
  let hash = 0x811c9dc5;
  for (const array of arrays) {
    const words = new Uint32Array(array.buffer, array.byteOffset, array.length);
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i]!, 16777619);
  }
  return hash >>> 0;
}
