// Builds the main-process bundles (esbuild) and the renderer (Vite) into dist/.
import { readFileSync, rmSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import { buildWorkers } from './workers.mjs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await esbuild({
  entryPoints: {
    start: 'main/start.ts',
    'electron-main': 'main/electron/main.ts',
    preload: 'main/electron/preload.ts',
    blockwise: 'main/cli/blockwise.ts',
  },
  outdir: 'dist/main',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  sourcemap: true,
  // Harmless in the other bundles; makes dist/main/blockwise.cjs runnable as the `blockwise` bin.
  banner: { js: '#!/usr/bin/env node' },
  // Runtime packages stay in node_modules: native addons, wasm files, and Electron itself.
  external: ['electron', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})],
  logLevel: 'warning',
});

await buildWorkers();
await viteBuild({ configFile: 'vite.config.mts', logLevel: 'warn' });
console.log('build: dist/main and dist/renderer are ready');
