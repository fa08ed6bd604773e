/**
 * Who is out there: each worker writes its facts and a heartbeat every few seconds; the studio
 * lists those heard from within the last minute. A worker that stops beating shows its age in
 * the list, then drops out of it.
 */
import type { Redis } from 'ioredis';
import { WORKERS_KEY, workerKey } from './keys';
import type { WorkerIdentity } from './event-stream';

export const HEARTBEAT_MS = 2000;
/** Workers silent for longer than this are no longer listed. */
export const WORKER_FORGET_MS = 60_000;

export interface WorkerState extends WorkerIdentity {
  concurrency: number;
  /** Runs it trains now, as `studio/run`. */
  running: string[];
  lastHeartbeat: number;
}

export async function beat(redis: Redis, state: Omit<WorkerState, 'lastHeartbeat'>): Promise<void> {
  const now = Date.now();
  await redis
    .multi()
    .set(workerKey(state.name), JSON.stringify({ ...state, lastHeartbeat: now }), 'PX', WORKER_FORGET_MS)
    .zadd(WORKERS_KEY, now, state.name)
    .exec();
}

/** A worker that stops cleanly leaves the list at once. */
export async function leave(redis: Redis, name: string): Promise<void> {
  await redis.multi().del(workerKey(name)).zrem(WORKERS_KEY, name).exec();
}

export async function listWorkers(redis: Redis, now = Date.now()): Promise<WorkerState[]> {
  await redis.zremrangebyscore(WORKERS_KEY, '-inf', now - WORKER_FORGET_MS);
  const names = await redis.zrange(WORKERS_KEY, 0, -1);
  if (!names.length) return [];
  const values = await redis.mget(...names.map(workerKey));
  return values.flatMap((text) => (text ? [JSON.parse(text) as WorkerState] : [])).sort((a, b) => a.name.localeCompare(b.name));
}
