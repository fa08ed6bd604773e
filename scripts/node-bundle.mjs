// esbuild settings every main-process bundle shares: CommonJS for Node 20, with the runtime
// packages (native addons, wasm files, Electron) left in node_modules rather than bundled.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

export const NODE_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['electron', ...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})],
  logLevel: 'warning',
};
