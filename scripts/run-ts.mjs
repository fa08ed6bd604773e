// Runs a TypeScript entry (a benchmark, a one-off tool) with Node: bundled by esbuild like the
// app, with the runtime packages left in node_modules. Usage: node scripts/run-ts.mjs FILE.ts [args...]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { NODE_BUNDLE } from './node-bundle.mjs';
import { buildWorkers } from './workers.mjs';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const outdir = path.resolve('node_modules/.cache/blockwise-run');
mkdirSync(outdir, { recursive: true });
const outfile = path.join(outdir, `${path.basename(entry, '.ts')}.cjs`);
await build({ ...NODE_BUNDLE, entryPoints: [entry], outfile, sourcemap: 'inline' });
// Worker threads (jobs, pipeline stages) load their own bundles, looked up beside the running one.
await buildWorkers(outdir);
const { status } = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit' });
process.exit(status ?? 1);
