/**
 * Readers for detection folders in the two common formats. Pure functions over a folder path:
 * they read and check the annotations and each image's header, and return what they found; they
 * register nothing. Any problem throws a DatasetError naming the file and saying what is wrong.
 *
 *   COCO   <dir>/annotations.json (or _annotations.coco.json, or the one .json in <dir> or in
 *          <dir>/annotations/); images at <dir>/<file_name> or <dir>/images/<file_name>.
 *          Boxes [x, y, w, h] in pixels; crowd boxes (iscrowd 1) are left out, as COCO's
 *          evaluation ignores them; classes are the categories in id order.
 *   VOC    <dir>/Annotations/*.xml and <dir>/JPEGImages/<filename>. Boxes xmin..xmax are 1-based
 *          pixel indices, inclusive (box x1 = xmin - 1, x2 = xmax); "difficult" objects are left
 *          out, as VOC's evaluation ignores them; classes are the object names, sorted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFile, readImageHeader } from '../../../data/image-codec';
import { createRng, permutation } from '../../../data/random';
import { DatasetError } from '../../../data/types';
import type { LabelledBox } from './boxes';
import type { DetectionSet, DetSample } from './det-data';

export interface FolderDetectionItem {
  file: string;
  width: number;
  height: number;
  boxes: LabelledBox[];
}

export interface FolderDetections {
  format: 'coco' | 'voc';
  classes: string[];
  items: FolderDetectionItem[];
}

/** Boxes may overhang the image by this many pixels (rounding in annotation tools); they are clipped. */
const OVERHANG = 1;

function checkFolder(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DatasetError(dir, 'is not a folder', 'Choose the folder that holds the annotations and images');
}

/** Checks a box against its image and clips a small overhang; throws a message (no file) when it is wrong. */
function checkBox(x1: number, y1: number, x2: number, y2: number, width: number, height: number): { x1: number; y1: number; x2: number; y2: number } {
  if (![x1, y1, x2, y2].every(Number.isFinite)) throw new Error('has a coordinate that is not a number');
  if (!(x2 > x1 && y2 > y1)) throw new Error(`is empty (x ${x1}..${x2}, y ${y1}..${y2}): width and height must be positive`);
  if (x1 < -OVERHANG || y1 < -OVERHANG || x2 > width + OVERHANG || y2 > height + OVERHANG) throw new Error(`(x ${x1}..${x2}, y ${y1}..${y2}) lies outside the ${width}x${height} image`);
  return { x1: Math.max(0, x1), y1: Math.max(0, y1), x2: Math.min(width, x2), y2: Math.min(height, y2) };
}

/** The image's header must be readable and match the annotated size. */
function checkImage(file: string, annotation: string, width: number, height: number): void {
  if (!fs.existsSync(file)) throw new DatasetError(annotation, `names the image ${path.basename(file)}, which is not at ${file}`, 'Put the image there or remove it from the annotations');
  const header = readImageHeader(file);
  if (header.width !== width || header.height !== height) throw new DatasetError(file, `is ${header.width}x${header.height} but ${path.basename(annotation)} says ${width}x${height}`, 'Fix the size in the annotations');
}

function findCocoFile(dir: string): string {
  for (const name of ['annotations.json', '_annotations.coco.json']) if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  for (const where of [dir, path.join(dir, 'annotations')]) {
    if (!fs.existsSync(where) || !fs.statSync(where).isDirectory()) continue;
    const jsons = fs.readdirSync(where).filter((f) => f.toLowerCase().endsWith('.json'));
    if (jsons.length === 1) return path.join(where, jsons[0]!);
    if (jsons.length > 1) throw new DatasetError(where, `holds ${jsons.length} JSON files (${jsons.slice(0, 3).join(', ')}${jsons.length > 3 ? ', ...' : ''}) and none is annotations.json`, 'Name the COCO annotation file annotations.json');
  }
  throw new DatasetError(dir, 'has no COCO annotation file', 'Add annotations.json (COCO format: images, annotations, categories)');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function readCocoFolder(dir: string): FolderDetections {
  checkFolder(dir);
  const file = findCocoFile(dir);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DatasetError(file, `is not valid JSON (${(error as Error).message})`, 'Export the annotations again in COCO format');
  }
  const bad = (what: string, fix = 'Fix the annotation file, or export it again in COCO format'): never => {
    throw new DatasetError(file, what, fix);
  };
  if (!isObject(json)) bad('is not a COCO annotation file: its top level is not an object with images, annotations and categories');
  const { images, annotations, categories } = json as Record<string, unknown>;
  for (const [key, value] of [['images', images], ['annotations', annotations], ['categories', categories]] as const) {
    if (!Array.isArray(value)) bad(`has no "${key}" list: a COCO file needs images, annotations and categories`);
  }
  const cats = (categories as unknown[]).map((c, i) => {
    if (!isObject(c) || !Number.isInteger(c.id) || typeof c.name !== 'string' || c.name === '') bad(`categories[${i}] needs a whole-number "id" and a non-empty "name"`);
    return { id: (c as { id: number }).id, name: (c as { name: string }).name };
  });
  if (cats.length === 0) bad('has no categories: list the classes under "categories"');
  cats.sort((a, b) => a.id - b.id);
  const labelOf = new Map<number, number>();
  cats.forEach((c, i) => {
    if (labelOf.has(c.id)) bad(`lists category id ${c.id} twice`);
    labelOf.set(c.id, i);
  });
  const byId = new Map<number, FolderDetectionItem>();
  (images as unknown[]).forEach((img, i) => {
    if (!isObject(img) || !Number.isInteger(img.id) || typeof img.file_name !== 'string' || !Number.isInteger(img.width) || !Number.isInteger(img.height) || (img.width as number) < 1 || (img.height as number) < 1) {
      bad(`images[${i}] needs a whole-number "id", a "file_name" and positive whole "width" and "height"`);
    }
    const { id, file_name: name, width, height } = img as { id: number; file_name: string; width: number; height: number };
    if (byId.has(id)) bad(`lists image id ${id} twice`);
    const direct = path.join(dir, name);
    const image = fs.existsSync(direct) ? direct : path.join(dir, 'images', name);
    checkImage(image, file, width, height);
    byId.set(id, { file: image, width, height, boxes: [] });
  });
  if (byId.size === 0) bad('lists no images');
  (annotations as unknown[]).forEach((a, i) => {
    if (!isObject(a) || !Number.isInteger(a.image_id) || !Number.isInteger(a.category_id) || !Array.isArray(a.bbox) || a.bbox.length !== 4) {
      bad(`annotations[${i}] needs a whole-number "image_id" and "category_id" and a "bbox" [x, y, width, height]`);
    }
    const { image_id: imageId, category_id: categoryId, bbox, iscrowd } = a as { image_id: number; category_id: number; bbox: unknown[]; iscrowd?: number };
    const item = byId.get(imageId) ?? bad(`annotations[${i}] is for image id ${imageId}, which "images" does not list`);
    const label = labelOf.get(categoryId) ?? bad(`annotations[${i}] has category id ${categoryId}, which "categories" does not list`);
    if (iscrowd === 1) return;
    const [x, y, w, h] = bbox as number[];
    try {
      item.boxes.push({ ...checkBox(x!, y!, x! + w!, y! + h!, item.width, item.height), label });
    } catch (error) {
      bad(`annotations[${i}] (image ${path.basename(item.file)}): the box ${JSON.stringify(bbox)} ${(error as Error).message}`);
    }
  });
  return { format: 'coco', classes: cats.map((c) => c.name), items: [...byId.values()] };
}

/** The text of the first <tag> in `xml` (tags are unique where VOC uses this), or null. */
function tagText(xml: string, tag: string): string | null {
  const match = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml);
  return match ? match[1]!.trim() : null;
}

export function readVocFolder(dir: string): FolderDetections {
  checkFolder(dir);
  const annotationDir = path.join(dir, 'Annotations');
  if (!fs.existsSync(annotationDir) || !fs.statSync(annotationDir).isDirectory()) throw new DatasetError(dir, 'has no Annotations folder', 'A Pascal VOC folder holds Annotations/*.xml and JPEGImages/');
  const xmls = fs.readdirSync(annotationDir).filter((f) => f.toLowerCase().endsWith('.xml')).sort();
  if (xmls.length === 0) throw new DatasetError(annotationDir, 'holds no .xml annotation files', 'Add one Pascal VOC XML file per image');
  const raw = xmls.map((name) => {
    const file = path.join(annotationDir, name);
    const xml = fs.readFileSync(file, 'utf8');
    const bad = (what: string): never => {
      throw new DatasetError(file, what, 'Fix the file, or export it again as Pascal VOC XML');
    };
    if (!/<annotation[\s>]/.test(xml)) bad('is not a Pascal VOC annotation: it has no <annotation> element');
    const size = tagText(xml, 'size') ?? bad('has no <size> element');
    const width = Number(tagText(size, 'width'));
    const height = Number(tagText(size, 'height'));
    if (!(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1)) bad('has no positive whole <width> and <height> in <size>');
    const imageName = tagText(xml, 'filename') ?? bad('has no <filename> element naming its image');
    const objects = [...xml.matchAll(/<object(?:\s[^>]*)?>([\s\S]*?)<\/object>/g)].map((m, i) => {
      const body = m[1]!;
      const name = tagText(body, 'name');
      if (!name) bad(`object ${i + 1} has no <name>`);
      const bndbox = tagText(body, 'bndbox') ?? bad(`object ${i + 1} (${name}) has no <bndbox>`);
      const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((t) => {
        const text = tagText(bndbox, t);
        const v = Number(text);
        if (text === null || text === '' || !Number.isFinite(v)) bad(`object ${i + 1} (${name}) has no number in <${t}> (got ${JSON.stringify(text)})`);
        return v;
      });
      let box: { x1: number; y1: number; x2: number; y2: number };
      try {
        box = checkBox(xmin! - 1, ymin! - 1, xmax!, ymax!, width, height);
      } catch (error) {
        return bad(`object ${i + 1} (${name}): the box ${(error as Error).message}`);
      }
      return { name: name!, box, difficult: tagText(body, 'difficult') === '1' };
    });
    const image = path.join(dir, 'JPEGImages', imageName);
    checkImage(image, file, width, height);
    return { file: image, width, height, objects };
  });
  const classes = [...new Set(raw.flatMap((r) => r.objects.map((o) => o.name)))].sort();
  if (classes.length === 0) throw new DatasetError(annotationDir, 'has no objects in any annotation', 'Annotate at least one object');
  const items = raw.map(({ file, width, height, objects }) => ({ file, width, height, boxes: objects.filter((o) => !o.difficult).map((o) => ({ ...o.box, label: classes.indexOf(o.name) })) }));
  return { format: 'voc', classes, items };
}

/** Bilinear stretch of an RGB image to size x size (pixel centres aligned). */
function stretchRgb(data: Uint8Array, width: number, height: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const at = (x: number, y: number, c: number) => data[(Math.min(height - 1, Math.max(0, y)) * width + Math.min(width - 1, Math.max(0, x))) * 3 + c]!;
  for (let j = 0; j < size; j++) {
    const v = ((j + 0.5) * height) / size - 0.5;
    const y0 = Math.floor(v);
    const fy = v - y0;
    for (let i = 0; i < size; i++) {
      const u = ((i + 0.5) * width) / size - 0.5;
      const x0 = Math.floor(u);
      const fx = u - x0;
      for (let c = 0; c < 3; c++) {
        out[(j * size + i) * 3 + c] = Math.round((1 - fy) * ((1 - fx) * at(x0, y0, c) + fx * at(x0 + 1, y0, c)) + fy * ((1 - fx) * at(x0, y0 + 1, c) + fx * at(x0 + 1, y0 + 1, c)));
      }
    }
  }
  return out;
}

export interface FolderLoadOptions {
  /** Images are stretched to size x size (boxes scaled with them). */
  size: number;
  /** Fraction of the images held out for testing, drawn by a seeded shuffle. */
  testFraction: number;
  seed: number;
}

/** Decode and resize a read folder into a DetectionSet the trainer takes. */
export async function loadFolderDetectionSet(folder: FolderDetections, options: FolderLoadOptions, name = `${folder.format.toUpperCase()} folder`): Promise<DetectionSet> {
  const { size, testFraction, seed } = options;
  if (!(Number.isInteger(size) && size >= 32 && size <= 1024)) throw new RangeError(`The image size must be a whole number of pixels from 32 to 1024 (got ${size}).`);
  if (!(testFraction >= 0 && testFraction < 1)) throw new RangeError(`The test fraction must be in [0, 1) (got ${testFraction}).`);
  const samples: DetSample[] = [];
  for (const item of folder.items) {
    const image = await decodeImageFile(item.file);
    if (image.width !== item.width || image.height !== item.height) throw new DatasetError(item.file, `decodes to ${image.width}x${image.height}, not the annotated ${item.width}x${item.height}`, 'Fix the size in the annotations');
    const sx = size / item.width;
    const sy = size / item.height;
    samples.push({
      image: { width: size, height: size, channels: 3, data: stretchRgb(image.data, image.width, image.height, size) },
      boxes: item.boxes.map((b) => ({ x1: b.x1 * sx, y1: b.y1 * sy, x2: b.x2 * sx, y2: b.y2 * sy, label: b.label })),
    });
  }
  const order = permutation(samples.length, createRng(seed));
  const testCount = Math.min(samples.length - 1, Math.round(samples.length * testFraction));
  const pick = (from: number, to: number) => Array.from(order.subarray(from, to), (i) => samples[i]!);
  return { name, classes: [...folder.classes], size, channels: 3, train: pick(testCount, samples.length), test: pick(0, testCount) };
}
