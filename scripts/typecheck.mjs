// Type-checks every layer. The Electron layer needs the electron package's own types, which
// exist only where that package installed (it is optional: its binary download can fail).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const run = (bin, args) => {
  try {
    execFileSync(process.execPath, [require.resolve(bin), ...args], { stdio: 'inherit' });
  } catch {
    console.error(`typecheck: ${bin.split('/')[0]} ${args.join(' ')} found errors (listed above)`);
    process.exit(1);
  }
};

run('typescript/bin/tsc', ['-p', 'tsconfig.json']);
run('typescript/bin/tsc', ['-p', 'test/tsconfig.json']);
run('vue-tsc/bin/vue-tsc.js', ['-p', 'renderer/tsconfig.json']);
if (hasElectronTypes()) run('typescript/bin/tsc', ['-p', 'tsconfig.electron.json']);
else {
  console.log('typecheck: skipped main/electron: the electron package is not installed (install with ELECTRON_SKIP_BINARY_DOWNLOAD=1 to get its types without the binary).');
}
console.log('typecheck: ok');

function hasElectronTypes() {
  try {
    require.resolve('electron/electron.d.ts');
    return true;
  } catch {
    return false;
  }
}
