// Builds the main-process bundles (esbuild) and the renderer (Vite) into dist/.
import { rmSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import { build as viteBuild } from 'vite';
import { NODE_BUNDLE } from './node-bundle.mjs';
import { buildWorkers } from './workers.mjs';
import { copyFaceModels } from './face-models.mjs';

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });

await esbuild({
  entryPoints: {
    start: 'main/start.ts',
    'electron-main': 'main/electron/main.ts',
    preload: 'main/electron/preload.ts',
    blockwise: 'main/cli/blockwise.ts',
  },
  ...NODE_BUNDLE,
  outdir: 'dist/main',
  outExtension: { '.js': '.cjs' },
  sourcemap: true,
  // Harmless in the other bundles; makes dist/main/blockwise.cjs runnable as the `blockwise` bin.
  banner: { js: '#!/usr/bin/env node' },
});

await buildWorkers();
copyFaceModels(); // resources/face-models/: the face weights the app ships
await viteBuild({ configFile: 'vite.config.mts', logLevel: 'warn' });
console.log('build: dist/main and dist/renderer are ready');
