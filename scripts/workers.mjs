// Worker-thread entry points. A worker loads a file by path, so each one is bundled on its own
// into dist/main/<name>.cjs: by `npm run build`, and by the unit tests' global setup (vitest runs
// TypeScript sources, which a worker cannot load). main/platform/workers.ts finds them at run time.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

export const WORKER_ENTRIES = {
  'job-worker': 'main/jobs/job-worker.ts',
  'stage-worker': 'main/engine/parallel/stage-worker.ts',
};

export async function buildWorkers(outdir = 'dist/main') {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  await build({
    entryPoints: WORKER_ENTRIES,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    sourcemap: true,
    external: ['electron', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})],
    logLevel: 'warning',
  });
}
