/** Where the bundled worker-thread entry points are (scripts/workers.mjs builds them). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { APP_ROOT } from './app-root';

export type WorkerEntry = 'job-worker' | 'stage-worker' | 'face-mesh-worker' | 'speak-editor-worker';

/**
 * A worker's bundle: beside the running bundle (dist/main/, or wherever a bundle was built with
 * its workers), else in the app's dist/main/ (TypeScript sources under test).
 */
export function workerScript(name: WorkerEntry): string {
  const candidates = [path.join(__dirname, `${name}.cjs`), path.join(APP_ROOT, 'dist', 'main', `${name}.cjs`)];
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`The worker bundle ${candidates[1]} is missing: run \`npm run build\` first.`);
  return found;
}
