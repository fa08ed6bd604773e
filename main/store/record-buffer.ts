/**
 * Buffers the points a training job streams and writes them in batched transactions: one
 * transaction per flush instead of one per point keeps the store far ahead of training.
 */
import type { MetricRepository, RunRecordBatch } from './metrics';

export interface RecordBufferOptions {
  /** Flush once this many rows are waiting. */
  maxRows?: number;
  /** Flush at least this often (milliseconds) while rows are waiting. */
  intervalMs?: number;
  /** Called when a flush fails; the failed rows are dropped so one bad row cannot block the rest. */
  onError?: (error: unknown) => void;
}

export class RecordBuffer {
  private pending: RunRecordBatch[] = [];
  private rows = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxRows: number;
  private readonly intervalMs: number;

  constructor(
    private readonly metrics: MetricRepository,
    private readonly options: RecordBufferOptions = {},
  ) {
    this.maxRows = options.maxRows ?? 500;
    this.intervalMs = options.intervalMs ?? 250;
  }

  push(batch: RunRecordBatch): void {
    this.pending.push(batch);
    this.rows += (batch.metrics?.length ?? 0) + (batch.memory?.length ?? 0);
    if (this.rows >= this.maxRows) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    const batches = this.pending;
    this.pending = [];
    this.rows = 0;
    try {
      this.metrics.record(batches);
    } catch (error) {
      if (!this.options.onError) throw error;
      this.options.onError(error);
    }
  }

  get pendingRows(): number {
    return this.rows;
  }
}
