/** The `blockwise` CLI bundled into a test's folder, with the job worker it trains in beside it. */
import path from 'node:path';
import { build } from 'esbuild';
import { NODE_BUNDLE } from '../../scripts/node-bundle.mjs';
import { buildWorkers } from '../../scripts/workers.mjs';

export async function buildCli(dir: string): Promise<{ cli: string; env: NodeJS.ProcessEnv }> {
  const cli = path.join(dir, 'blockwise.cjs');
  await build({ ...NODE_BUNDLE, entryPoints: ['main/cli/blockwise.ts'], outfile: cli, logLevel: 'error' });
  await buildWorkers(dir);
  // The bundles live outside the app: they find its packages through NODE_PATH.
  return { cli, env: { ...process.env, NODE_PATH: path.resolve('node_modules') } };
}
