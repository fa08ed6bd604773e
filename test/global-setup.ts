// Bundles the worker-thread entry points before any test starts a worker (see scripts/workers.mjs).
import { buildWorkers } from '../scripts/workers.mjs';

export default async function setup(): Promise<void> {
  await buildWorkers();
}
