/**
 * Reads a corpus folder written by the corpus writer (or imported from MEAD) back as SpeakClips:
 *   <dir>/manifest.json, <dir>/<identity>/<emotion>/level_<k>/<clip>/{000000.png ..., audio.wav, labels.json}
 * Everything but the pixels is read and checked at once (manifest, labels, WAV, every frame's
 * header and end), so a damaged corpus fails here, naming the file, and nothing half-read comes
 * back. Frames are decoded when a trainer asks for them, kept in a small LRU cache shared by the
 * clips, and resized when the size asked for differs from the corpus's.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeImage, readImageHeader } from '../../data/image-codec';
import { DatasetError } from '../../data/types';
import { decodeWav, type PcmAudio } from '../audio/wav';
import { CORPUS_FORMAT, CORPUS_VERSION, frameFile, type CorpusManifest, type ManifestClip } from '../corpus/corpus-writer';
import { isEmotion, type Emotion } from '../corpus/emotions';
import { resizeImage } from '../instruments/image-warp';
import type { ClipPose, ClipSet, SpeakClip } from './clip';
import { FrameCache } from './frame-cache';

export interface ReadCorpusOptions {
  /** Only the clips of these identities (e.g. a split's `train` list) [all]. */
  identities?: readonly string[];
  /** Frame side wanted, pixels; frames and landmarks are scaled when the corpus's differs [the corpus's]. */
  size?: number;
  /** Decoded frames kept, across all clips [256]. */
  cacheFrames?: number;
  /** Decode every frame now rather than on first use (slow; finds damage inside a PNG's pixels up front) [false]. */
  verifyFrames?: boolean;
}

/** labels.json as the reader needs it; per-frame pose and landmarks may be null (imported real video). */
interface LabelFrame {
  file?: string;
  landmarks?: [number, number][] | null;
  yaw?: number | null;
  pitch?: number | null;
  roll?: number | null;
}
interface Labels {
  identity?: string;
  emotion?: string;
  intensity?: number;
  fps?: number;
  size?: number;
  audio?: { file?: string; sampleRate?: number };
  frames?: LabelFrame[];
}

const FIX_RECOPY = 'Copy the corpus again, or write it again with `blockwise speak corpus`';
const MIN_SIZE = 16;
const MAX_SIZE = 1024;

function readJson<T>(file: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): every ${what} needs it`, FIX_RECOPY);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new DatasetError(file, `is not valid JSON (${(error as Error).message})`, FIX_RECOPY);
  }
}

/** Reads and checks manifest.json; the messages say what kind of folder this is not. */
export function readManifest(dir: string): CorpusManifest {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist. Give the folder a corpus was written to (blockwise speak corpus --out <folder>).`);
  if (!statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a corpus folder. Give the folder a corpus was written to (blockwise speak corpus --out <folder>).`);
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) {
    throw new Error(
      `${dir} is not a SPEAK corpus: it has no manifest.json. Write a corpus there with \`blockwise speak corpus --out ${dir}\`, or read a MEAD-style folder of videos or frames with the MEAD reader.`,
    );
  }
  const manifest = readJson<Partial<CorpusManifest>>(file, 'corpus');
  if (manifest.format !== CORPUS_FORMAT) throw new DatasetError(file, `is not a SPEAK corpus manifest (its format is ${JSON.stringify(manifest.format ?? null)}, not "${CORPUS_FORMAT}")`, 'Give the folder a corpus was written to');
  if (typeof manifest.version !== 'number' || manifest.version > CORPUS_VERSION) {
    throw new DatasetError(file, `is corpus format version ${String(manifest.version)}; this studio reads version ${CORPUS_VERSION}`, 'Update the studio, or write the corpus again with this one');
  }
  if (!Number.isInteger(manifest.size) || !Array.isArray(manifest.clips) || !Array.isArray(manifest.identities)) {
    throw new DatasetError(file, 'is missing its size, identities or clips list', FIX_RECOPY);
  }
  return manifest as CorpusManifest;
}

/** The PNG frame files of a clip folder, sorted. */
function frameFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /^\d{6}\.png$/.test(name))
    .sort();
}

function checkSize(size: number | undefined): void {
  if (size !== undefined && (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE)) {
    throw new Error(`The frame size must be a whole number of pixels from ${MIN_SIZE} to ${MAX_SIZE}; got ${size}.`);
  }
}

/** Reads a corpus folder as a ClipSet; throws, naming the file, on anything missing or damaged. */
export function readCorpus(dir: string, options: ReadCorpusOptions = {}): ClipSet {
  checkSize(options.size);
  const manifest = readManifest(dir);
  const native = manifest.size;
  const size = options.size ?? native;
  const scale = size / native;
  const known = new Set(manifest.identities);
  const wanted = options.identities ?? manifest.identities;
  const unknown = wanted.filter((id) => !known.has(id));
  if (unknown.length) throw new Error(`${dir} has no identity ${unknown.join(', ')}; it has ${manifest.identities.length}: ${manifest.identities.slice(0, 8).join(', ')}${manifest.identities.length > 8 ? ', ...' : ''}.`);
  const keep = new Set(wanted);
  const cache = new FrameCache(options.cacheFrames ?? 256);
  const clips = manifest.clips.filter((c) => keep.has(c.identity)).map((entry) => readClip(dir, entry, native, size, scale, cache));
  if (options.verifyFrames) for (const clip of clips) for (let i = 0; i < clip.frameCount; i++) clip.frame(i);
  return { clips, identities: manifest.identities.filter((id) => keep.has(id)) };
}

function readClip(root: string, entry: ManifestClip, native: number, size: number, scale: number, cache: FrameCache): SpeakClip {
  const dir = path.join(root, ...entry.path.split('/'));
  if (!existsSync(dir)) throw new DatasetError(dir, 'is listed in manifest.json but missing', FIX_RECOPY);
  const labelsFile = path.join(dir, 'labels.json');
  const labels = readJson<Labels>(labelsFile, 'clip');
  const frames = labels.frames;
  if (!Array.isArray(frames)) throw new DatasetError(labelsFile, 'has no frames list', FIX_RECOPY);
  const emotion = labels.emotion ?? entry.emotion;
  if (!isEmotion(emotion)) throw new DatasetError(labelsFile, `names the emotion "${emotion}", not one of the 8 MEAD emotions`, FIX_RECOPY);
  const files = frameFiles(dir);
  if (frames.length !== entry.frames || files.length !== entry.frames) {
    throw new DatasetError(dir, `has ${files.length} PNG frames and labels.json lists ${frames.length}, but manifest.json says ${entry.frames}`, FIX_RECOPY);
  }
  files.forEach((name, i) => {
    if (name !== frameFile(i)) throw new DatasetError(path.join(dir, frameFile(i)), 'is missing (the frames must be numbered from 000000.png without gaps)', FIX_RECOPY);
    const header = readImageHeader(path.join(dir, name));
    if (header.width !== native || header.height !== native) {
      throw new DatasetError(path.join(dir, name), `is ${header.width}x${header.height} pixels; the corpus's frames are ${native}x${native}`, FIX_RECOPY);
    }
  });
  const landmarks = readLandmarks(frames, labelsFile, scale);
  const poses = readPoses(frames);
  const audio = readWav(path.join(dir, labels.audio?.file ?? 'audio.wav'));
  if (labels.audio?.sampleRate !== undefined && labels.audio.sampleRate !== audio.sampleRate) {
    throw new DatasetError(path.join(dir, labels.audio.file ?? 'audio.wav'), `is sampled at ${audio.sampleRate} Hz but labels.json says ${labels.audio.sampleRate} Hz`, FIX_RECOPY);
  }
  const id = entry.path;
  return {
    id,
    identity: entry.identity,
    emotion: emotion as Emotion,
    intensity: labels.intensity ?? entry.intensity,
    size,
    frameCount: frames.length,
    fps: labels.fps ?? 25,
    frame: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= frames.length) throw new RangeError(`Frame ${i} is outside clip ${id} (${frames.length} frames)`);
      return cache.get(`${id}#${i}`, () => decodeFrame(path.join(dir, frameFile(i)), native, size));
    },
    landmarks,
    poses,
    audio,
  };
}

function decodeFrame(file: string, native: number, size: number): Uint8Array {
  let image;
  try {
    image = decodeImage(readFileSync(file));
  } catch (error) {
    throw new DatasetError(file, (error as Error).message, FIX_RECOPY);
  }
  if (image.width !== native || image.height !== native) throw new DatasetError(file, `is ${image.width}x${image.height} pixels; the corpus's frames are ${native}x${native}`, FIX_RECOPY);
  return size === native ? image.data : resizeImage(image, size, size).data;
}

/** Landmarks of every frame, or null when the labels have none (a face the detector missed in imported video). */
function readLandmarks(frames: LabelFrame[], file: string, scale: number): Float32Array[] | null {
  if (frames.some((f) => f.landmarks == null)) return null;
  return frames.map((f, i) => {
    const points = f.landmarks!;
    if (!Array.isArray(points) || points.length !== 68) throw new DatasetError(file, `frame ${i} has ${Array.isArray(points) ? points.length : 'no'} landmarks, not the 68 of the iBUG layout`, FIX_RECOPY);
    const flat = new Float32Array(136);
    points.forEach(([x, y], k) => {
      if (!Number.isFinite(x) || !Number.isFinite(y)) throw new DatasetError(file, `frame ${i} landmark ${k} is not a pair of numbers`, FIX_RECOPY);
      flat[2 * k] = x * scale;
      flat[2 * k + 1] = y * scale;
    });
    return flat;
  });
}

function readPoses(frames: LabelFrame[]): ClipPose[] | null {
  const known = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!frames.every((f) => known(f.yaw) && known(f.pitch) && known(f.roll))) return null;
  return frames.map((f) => ({ yaw: f.yaw!, pitch: f.pitch!, roll: f.roll! }));
}

function readWav(file: string): PcmAudio {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): every clip needs its speech`, FIX_RECOPY);
  }
  // decodeWav's messages already name the file and say how to convert it.
  return decodeWav(bytes, file);
}
