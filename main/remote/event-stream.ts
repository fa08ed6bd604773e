/**
 * A studio's Redis stream: what its remote runs tell it, in order, each entry with an id the
 * studio keeps after applying it, so a studio that was closed reads on from there (XREAD by id)
 * and loses nothing. Workers append; the studio reads, applies, remembers the id and trims.
 */
import type { Redis } from 'ioredis';
import type { JobEvent } from '../jobs/events';
import type { FileSetManifest } from './artifacts';

/** Who took a run: shown in the workers list and stored with the run's environment. */
export interface WorkerIdentity {
  name: string;
  host: string;
  pid: number;
  backend: string;
  gpu: string | null;
}

export type StreamEntry =
  /** A worker took this attempt: the run is `running`. */
  | { type: 'claimed'; worker: WorkerIdentity }
  /** A job event as the job worker sent it; a checkpoint or weights event carries the manifest of the files it stored. */
  | { type: 'event'; event: JobEvent; files?: FileSetManifest }
  | { type: 'finished'; result: unknown }
  | { type: 'failed'; name: string; message: string };

export interface StreamRecord {
  id: string;
  runId: number;
  attempt: number;
  entry: StreamEntry;
}

export async function appendEntry(redis: Redis, stream: string, runId: number, attempt: number, entry: StreamEntry): Promise<string> {
  return (await redis.xadd(stream, '*', 'run', String(runId), 'attempt', String(attempt), 'entry', JSON.stringify(entry)))!;
}

/**
 * Entries after `afterId` ('0' from the start), at most `count`; waits up to `blockMs` for the
 * first one (0: never wait). Needs a connection of its own while it blocks.
 */
export async function readEntries(redis: Redis, stream: string, afterId: string, count: number, blockMs: number): Promise<StreamRecord[]> {
  const reply = blockMs > 0
    ? await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', stream, afterId)
    : await redis.xread('COUNT', count, 'STREAMS', stream, afterId);
  const records: StreamRecord[] = [];
  for (const [, entries] of reply ?? []) {
    for (const [id, fields] of entries) {
      const value = (name: string) => fields[fields.indexOf(name) + 1];
      try {
        records.push({ id, runId: Number(value('run')), attempt: Number(value('attempt')), entry: JSON.parse(value('entry') ?? 'null') as StreamEntry });
      } catch {
        console.error(`[remote] skipped a malformed stream entry ${id}`);
        records.push({ id, runId: 0, attempt: 0, entry: { type: 'failed', name: 'Error', message: 'malformed entry' } });
      }
    }
  }
  return records;
}
