/**
 * Where the face models' files are. The app ships the few it uses in resources/face-models/
 * (copied there by scripts/face-models.mjs during the build; the list is models.json beside
 * them); in development, before a build, the installed packages' own folders serve.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import manifest from '../../../resources/face-models/models.json';
import { APP_ROOT } from '../../platform/app-root';

export type ModelFamily = 'faceApi' | 'human';

export interface ModelFolder {
  family: ModelFamily;
  /** Absolute folder holding every file the family needs. */
  dir: string;
  /** 'resources' when the shipped copies serve, 'package' for the installed npm package's folder. */
  source: 'resources' | 'package';
  files: readonly string[];
}

export class FaceModelsMissingError extends Error {
  constructor(family: ModelFamily, looked: string[]) {
    super(
      `The ${manifest[family].package} model files (${manifest[family].files.join(', ')}) are in none of: ${looked.join('; ')}. ` +
        'Run `npm run build` (it copies them into resources/face-models/) or reinstall the app.',
    );
    this.name = 'FaceModelsMissingError';
  }
}

/** The folder of an installed package; human's exports map hides its package.json, so climb from its main file. */
export function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${require.resolve(name)}`);
    dir = up;
  }
  return dir;
}

function candidates(family: ModelFamily): { dir: string; source: ModelFolder['source'] }[] {
  const list: { dir: string; source: ModelFolder['source'] }[] = [];
  // Packaged Electron app: electron-builder's extraResources put resources/ beside app.asar.
  const resourcesPath = (process as { resourcesPath?: string }).resourcesPath;
  if (resourcesPath) list.push({ dir: path.join(resourcesPath, 'resources', 'face-models', family), source: 'resources' });
  list.push({ dir: path.join(APP_ROOT, 'resources', 'face-models', family), source: 'resources' });
  try {
    list.push({ dir: path.join(packageDir(manifest[family].package), manifest[family].folder), source: 'package' });
  } catch {
    // Not installed (a packaged app without node_modules models): the other places decide.
  }
  return list;
}

/** The first folder that holds all of a family's files; throws FaceModelsMissingError naming where it looked. */
export function locateModels(family: ModelFamily): ModelFolder {
  const files = manifest[family].files;
  const tried = candidates(family);
  const found = tried.find(({ dir }) => files.every((file) => existsSync(path.join(dir, file))));
  if (!found) throw new FaceModelsMissingError(family, tried.map(({ dir }) => dir));
  return { family, dir: found.dir, source: found.source, files };
}
