// Runs a TypeScript entry (a benchmark, a one-off tool) with Node: bundled by esbuild like the
// app, with the runtime packages left in node_modules. Usage: node scripts/run-ts.mjs FILE.ts [args...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { buildWorkers } from './workers.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outdir = path.resolve('node_modules/.cache/blockwise-run');
mkdirSync(outdir, { recursive: true });
const outfile = path.join(outdir, `${path.basename(entry, '.ts')}.cjs`);
await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  external: ['electron', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})],
  logLevel: 'warning',
});
// Worker threads (jobs, pipeline stages) load their own bundles, looked up beside the running one.
await buildWorkers(outdir);
const { status } = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
process.exit(status ?? 1);
