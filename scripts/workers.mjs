// Worker-thread entry points. A worker loads a file by path, so each one is bundled on its own
// into dist/main/<name>.cjs: by `npm run build`, by scripts/run-ts.mjs beside its bundle, and by
// the unit tests' global setup (vitest runs TypeScript sources, which a worker cannot load).
// main/platform/workers.ts finds them at run time.
import { build } from 'esbuild';
import { NODE_BUNDLE } from './node-bundle.mjs';

export const WORKER_ENTRIES = {
  'job-worker': 'main/jobs/job-worker.ts',
  'stage-worker': 'main/engine/parallel/stage-worker.ts',
  'face-mesh-worker': 'main/speak/instruments/face-mesh-worker.ts',
  'speak-editor-worker': 'main/speak/editor/editor-worker.ts',
};

export async function buildWorkers(outdir = 'dist/main') {
  await build({ ...NODE_BUNDLE, entryPoints: WORKER_ENTRIES, outdir, outExtension: { '.js': '.cjs' }, sourcemap: true });
}
