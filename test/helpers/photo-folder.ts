/**
 * A small image folder of real photographs for super-resolution tests: the face-api package's six
 * demo photos (the ones other tests use), each shrunk by area averaging and centre-cropped to
 * `size` px, written as PNGs into `<dir>/photos/` (one class, so the folder's flat layout holds
 * five training photos and one test photo).
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../main/data/image-codec';
import { areaDownscale, cropImage } from '../../main/engine/tasks/super-resolution/sr-data';
import { encodePng } from '../../main/speak/corpus/png';

/** Tests run from the repository root (vitest and Playwright alike). */
export const DEMO_PHOTOS = path.resolve('node_modules/@vladmandic/face-api/demo');

export function makePhotoFolder(dir: string, size = 64, shrink = 8): string {
  const folder = path.join(dir, 'photos');
  fs.mkdirSync(folder, { recursive: true });
  for (let i = 1; i <= 6; i++) {
    const photo = areaDownscale(decodeImage(fs.readFileSync(path.join(DEMO_PHOTOS, `sample${i}.jpg`))), shrink);
    const side = Math.min(size, photo.width, photo.height);
    const crop = cropImage(photo, Math.floor((photo.width - side) / 2), Math.floor((photo.height - side) / 2), side, side);
    fs.writeFileSync(path.join(folder, `sample${i}.png`), encodePng(crop.data, crop.width, crop.height));
  }
  return dir;
}
