/**
 * The editor's faces on disk: one folder per face with face.json (label, source, landmarks, crop
 * box) and crop.png (the aligned crop at the model's size), plus the photo it came from. The
 * worker reads a folder to prepare the face; the renderer gets the crop, the photo and its box.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CropBox } from '../instruments/face-finder';
import { decodePngRgb, encodePng } from '../corpus/png';

export type FaceSourceKind = 'corpus' | 'portrait' | 'upload';

export interface FaceRecord {
  id: string;
  label: string;
  source: FaceSourceKind;
  /** Side of the crop, pixels (the model's size). */
  size: number;
  /** 68 iBUG points in the crop's pixels, [x0, y0, ...]. */
  landmarks: number[];
  /** Where the crop was cut from the photo; null for a rendered corpus face. */
  cropBox: CropBox | null;
  photo: { file: string; width: number; height: number } | null;
  licence: string | null;
  createdAt: number;
}

const FACE_FILE = 'face.json';
const CROP_FILE = 'crop.png';

export class FaceStore {
  constructor(readonly dir: string) {}

  folder(id: string): string {
    if (!/^[a-z0-9-]{1,80}$/.test(id)) throw new Error(`"${id}" is not a face id of this editor.`);
    return path.join(this.dir, id);
  }

  has(id: string, size: number): boolean {
    const file = path.join(this.folder(id), FACE_FILE);
    if (!fs.existsSync(file)) return false;
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as FaceRecord).size === size;
  }

  get(id: string): FaceRecord {
    const file = path.join(this.folder(id), FACE_FILE);
    if (!fs.existsSync(file)) throw new Error(`No face with id ${id}: choose a face from the list or upload the photo again.`);
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FaceRecord;
  }

  list(): FaceRecord[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((id) => fs.existsSync(path.join(this.dir, id, FACE_FILE)))
      .map((id) => this.get(id));
  }

  /** Writes a face (replacing one of the same id): the crop, its record, and the photo's bytes. */
  put(record: Omit<FaceRecord, 'photo' | 'createdAt'>, crop: Uint8Array, photo: { bytes: Uint8Array; ext: string; width: number; height: number } | null): FaceRecord {
    const folder = this.folder(record.id);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, CROP_FILE), encodePng(crop, record.size, record.size));
    let photoInfo: FaceRecord['photo'] = null;
    if (photo) {
      const file = `photo.${photo.ext}`;
      fs.writeFileSync(path.join(folder, file), photo.bytes);
      photoInfo = { file, width: photo.width, height: photo.height };
    }
    const full: FaceRecord = { ...record, photo: photoInfo, createdAt: Date.now() };
    // Written last: a folder without face.json is not a face.
    fs.writeFileSync(path.join(folder, FACE_FILE), JSON.stringify(full));
    return full;
  }

  /** The crop and landmarks, as the model's prepareFace takes them. */
  source(folder: string): { rgb: Uint8Array; size: number; landmarks: Float32Array } {
    const record = JSON.parse(fs.readFileSync(path.join(folder, FACE_FILE), 'utf8')) as FaceRecord;
    const png = decodePngRgb(fs.readFileSync(path.join(folder, CROP_FILE)));
    return { rgb: png.rgb, size: png.width, landmarks: Float32Array.from(record.landmarks) };
  }

  cropPng(id: string): Buffer {
    return fs.readFileSync(path.join(this.folder(id), CROP_FILE));
  }

  photoBytes(id: string): Buffer | null {
    const record = this.get(id);
    return record.photo ? fs.readFileSync(path.join(this.folder(id), record.photo.file)) : null;
  }
}
