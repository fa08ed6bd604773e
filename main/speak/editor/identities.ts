/**
 * The faces the editor offers before the user brings one: a few procedural people of the
 * corpus (rendered at the model's size, straight ahead, neutral, with their exact landmarks)
 * and the bundled real portraits (resources/portraits/portraits.json: only photos whose licence
 * lets them ship), found and cropped by the real detector like any upload.
 */
import fs from 'node:fs';
import path from 'node:path';
import { APP_ROOT } from '../../platform/app-root';
import { NEUTRAL_STATE } from '../corpus/face-model';
import { makeIdentity } from '../corpus/identity';
import { renderFace } from '../corpus/renderer';

/** People of the shipped model's training population (seed 0): the faces it renders best. */
export const CORPUS_FACES = 4;
export const CORPUS_SEED = 0;

export const PORTRAITS_DIR = path.join(APP_ROOT, 'resources', 'portraits');

export interface BundledPortrait {
  id: string;
  file: string;
  label: string;
  licence: string;
}

export function bundledPortraits(dir = PORTRAITS_DIR): BundledPortrait[] {
  const list = path.join(dir, 'portraits.json');
  if (!fs.existsSync(list)) return [];
  const entries = JSON.parse(fs.readFileSync(list, 'utf8')) as { file: string; label: string; licence: string }[];
  return entries
    .filter((e) => fs.existsSync(path.join(dir, e.file)))
    .map((e) => ({ id: `portrait-${path.parse(e.file).name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`, file: path.join(dir, e.file), label: e.label, licence: e.licence }));
}

/** Corpus person `index` at `size` px: the crop and its 68 landmarks (ground truth). */
export function corpusFace(index: number, size: number): { id: string; label: string; rgb: Uint8Array; landmarks: number[] } {
  const identity = makeIdentity(CORPUS_SEED, index);
  const face = renderFace(identity, NEUTRAL_STATE, { size });
  return { id: `corpus-${index}`, label: `Corpus person ${index + 1}`, rgb: face.rgb, landmarks: face.landmarks.flatMap(([x, y]) => [x, y]) };
}
