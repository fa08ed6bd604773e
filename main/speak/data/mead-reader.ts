/**
 * Real talking-face corpora on disk as SpeakClips, so a user with data (and a GPU) trains the same
 * model on real faces. Three layouts, found per actor folder:
 *   MEAD as published:   <actor>/video/<view>/<emotion>/level_<k>/<clip>.mp4
 *                        <actor>/audio/<emotion>/level_<k>/<clip>.m4a (or .wav)
 *   MEAD as frames:      <actor>/frames/<view>/<emotion>/level_<k>/<clip>/<frames>.png|jpg
 *                        (audio beside the frames as audio.wav, or under <actor>/audio/ as above)
 *   A plain folder:      <actor>/<emotion>/level_<k>/<clip>/{<frames>.png|jpg, audio.wav, labels.json?}
 * The emotion comes from its folder name (MEAD's names, and a few common spellings), the intensity
 * from the level as the corpus writer maps it; an optional labels.json may give the emotion, the
 * intensity and per-frame yaw/pitch/roll. Without those, head poses are measured on the crops by
 * human's face mesh when a `poseMeter` is given (roll is then the crop's: the first frame's eyes
 * are level), and are null otherwise.
 *
 * Faces: the real detector (face-api) finds the face on the clip's first frame; one square crop,
 * eyes level, with the photo finder's alignment (alignedCropBox), is cut from every frame of the
 * clip (a fixed box, as MEAD's speakers sit still; the head's own motion stays in the crop).
 * Landmarks: face-api's 68-point model run on the crop of every `landmarkEvery`-th frame (default:
 * every frame) and the last, linearly interpolated between them; frames where the detector misses
 * the face are interpolated from their neighbours. Frames of a folder are taken at labels.json's
 * `fps` (25 without one) and resampled to 25 by taking the nearest frame; videos are resampled to
 * 25 fps by ffmpeg (./video-frames.ts). readMead holds the crops in memory at `size`; importMead
 * (./mead-import.ts) writes them once as a corpus folder for large corpora.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeImageFile, readImageHeader, type RgbImage } from '../../data/image-codec';
import { DatasetError } from '../../data/types';
import { decodeWav, type PcmAudio } from '../audio/wav';
import { levelIntensity } from '../corpus/clip-plan';
import { EMOTIONS, isEmotion, type Emotion } from '../corpus/emotions';
import { detectFaces } from '../instruments/detect-faces';
import { alignedCropBox, cutCrop, DEFAULT_FIND_OPTIONS, type CropBox } from '../instruments/face-finder';
import type { FaceMeshMeter } from '../instruments/head-pose';
import type { ClipPose, ClipSet, SpeakClip } from './clip';
import { decodeAudioFile, videoFrames, type FfmpegOptions } from './video-frames';

/** MEAD's emotion folder names are ours; other spellings seen in corpora map onto them. */
const EMOTION_ALIASES: Record<string, Emotion> = {
  anger: 'angry',
  disgust: 'disgusted',
  fearful: 'fear',
  scared: 'fear',
  happiness: 'happy',
  sadness: 'sad',
  surprise: 'surprised',
  calm: 'neutral',
};

export function emotionFromFolder(name: string): Emotion | null {
  const key = name.toLowerCase();
  return isEmotion(key) ? key : (EMOTION_ALIASES[key] ?? null);
}

const VIDEO = /\.(mp4|mov|avi|mkv|webm)$/i;
const AUDIO = ['.wav', '.m4a', '.aac', '.mp3', '.flac'];
const IMAGE = /\.(png|jpe?g)$/i;

export interface MeadClipSource {
  /** `<actor>/<emotion>/level_<k>/<clip>`. */
  id: string;
  actor: string;
  emotion: Emotion;
  level: number;
  intensity: number;
  /** A video file, or a folder of frames. */
  video?: string;
  framesDir?: string;
  /** The speech: a WAV, or anything ffmpeg reads. */
  audio: string;
  labels?: string;
}

export interface ReadMeadOptions extends FfmpegOptions {
  /** Side of the face crops, pixels [64]. */
  size?: number;
  /** MEAD camera view [front]. */
  view?: string;
  /** Only these actors. */
  identities?: readonly string[];
  /** Only these emotions. */
  emotions?: readonly Emotion[];
  /** Cut clips to this many frames. */
  maxFrames?: number;
  /** Videos are shrunk to fit this square before the face is found (MEAD is 1920x1080) [max(720, 4 * size)]. */
  videoMaxSide?: number;
  /** Room around the face, as the photo finder's margin [0.5]. */
  margin?: number;
  /** Run the landmark model on every k-th frame and interpolate between [1: every frame]; 0: no landmarks. */
  landmarkEvery?: number;
  /** Measures head poses on the crops with human's face mesh where labels.json gives none (else poses are null). */
  poseMeter?: FaceMeshMeter;
  /** Called for a clip whose first frame has no face; without it such a clip stops the read. */
  onClipSkipped?: (id: string, reason: string) => void;
  onProgress?: (done: number, total: number, id: string) => void;
}

const LAYOUT_HELP =
  'Expected MEAD folders (<actor>/video/front/<emotion>/level_<k>/<clip>.mp4 with <actor>/audio/<emotion>/level_<k>/<clip>.m4a), ' +
  'MEAD frames (<actor>/frames/front/<emotion>/level_<k>/<clip>/ with PNG or JPEG frames), ' +
  'or plain clip folders (<actor>/<emotion>/level_<k>/<clip>/ with frames and audio.wav)';

const subdirs = (dir: string) =>
  readdirSync(dir)
    .filter((name) => !name.startsWith('.') && statSync(path.join(dir, name)).isDirectory())
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

/** Emotion and level folders under `dir`: [emotion, level, folder]. */
function emotionLevels(dir: string): [Emotion, number, string][] {
  const out: [Emotion, number, string][] = [];
  for (const name of subdirs(dir)) {
    const emotion = emotionFromFolder(name);
    if (!emotion) throw new DatasetError(path.join(dir, name), `is not one of the 8 MEAD emotions (${EMOTIONS.join(', ')})`, 'Rename the folder to one of them, or move it out of the corpus');
    for (const levelName of subdirs(path.join(dir, name))) {
      const match = /^level_(\d+)$/.exec(levelName);
      if (!match || Number(match[1]) < 1 || Number(match[1]) > 3) throw new DatasetError(path.join(dir, name, levelName), 'is not an intensity level folder (level_1, level_2 or level_3)', 'Rename it, or move it out of the corpus');
      out.push([emotion, Number(match[1]), path.join(dir, name, levelName)]);
    }
  }
  return out;
}

function findAudio(base: string): string | undefined {
  return AUDIO.map((ext) => base + ext).find((file) => existsSync(file));
}

/** Every clip of a MEAD-style folder, without decoding anything; throws on a folder that holds none. */
export function scanMead(dir: string, view = 'front'): MeadClipSource[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder. ${LAYOUT_HELP}.`);
  const clips: MeadClipSource[] = [];
  for (const actor of subdirs(dir)) {
    const actorDir = path.join(dir, actor);
    const make = (emotion: Emotion, level: number, clip: string, source: Pick<MeadClipSource, 'video' | 'framesDir' | 'labels'>, audio: string | undefined, expected: string) => {
      if (!audio) throw new DatasetError(expected, 'is missing: every clip needs its speech (a .wav, or .m4a read through ffmpeg)', 'Add the audio, or move the clip out of the corpus');
      clips.push({ id: `${actor}/${emotion}/level_${level}/${clip}`, actor, emotion, level, intensity: levelIntensity(emotion, level), audio, ...source });
    };
    const audioBase = (emotion: string, level: number, clip: string) => path.join(actorDir, 'audio', emotion, `level_${level}`, clip);
    const videoDir = path.join(actorDir, 'video', view);
    const framesRoot = path.join(actorDir, 'frames', view);
    for (const kind of ['video', 'frames']) {
      const kindDir = path.join(actorDir, kind);
      if (existsSync(kindDir) && !existsSync(path.join(kindDir, view))) {
        throw new DatasetError(kindDir, `has no "${view}" camera view (it has ${subdirs(kindDir).join(', ') || 'none'})`, 'Choose one of those views, or add the clips of this one');
      }
    }
    if (existsSync(videoDir) || existsSync(framesRoot)) {
      const folderName = (levelDir: string) => path.basename(path.dirname(levelDir));
      if (existsSync(videoDir)) {
        for (const [emotion, level, levelDir] of emotionLevels(videoDir)) {
          for (const file of readdirSync(levelDir).filter((f) => VIDEO.test(f)).sort()) {
            const clip = file.replace(VIDEO, '');
            const base = audioBase(folderName(levelDir), level, clip);
            make(emotion, level, clip, { video: path.join(levelDir, file) }, findAudio(base), `${base}.m4a`);
          }
        }
      }
      if (existsSync(framesRoot)) {
        for (const [emotion, level, levelDir] of emotionLevels(framesRoot)) {
          for (const clip of subdirs(levelDir)) {
            const framesDir = path.join(levelDir, clip);
            const base = audioBase(folderName(levelDir), level, clip);
            const audio = findAudio(path.join(framesDir, 'audio')) ?? findAudio(base);
            make(emotion, level, clip, { framesDir, labels: labelsIn(framesDir) }, audio, path.join(framesDir, 'audio.wav'));
          }
        }
      }
      continue;
    }
    for (const [emotion, level, levelDir] of emotionLevels(actorDir)) {
      for (const clip of subdirs(levelDir)) {
        const framesDir = path.join(levelDir, clip);
        make(emotion, level, clip, { framesDir, labels: labelsIn(framesDir) }, findAudio(path.join(framesDir, 'audio')), path.join(framesDir, 'audio.wav'));
      }
    }
  }
  if (!clips.length) throw new Error(`${dir} holds no MEAD-style clips. ${LAYOUT_HELP}.`);
  return clips;
}

function labelsIn(dir: string): string | undefined {
  const file = path.join(dir, 'labels.json');
  return existsSync(file) ? file : undefined;
}

/** Optional labels.json of a frames folder: emotion, intensity, per-frame pose. */
interface FolderLabels {
  emotion?: string;
  intensity?: number;
  /** Frame rate of the folder's frames [25]; others are resampled to 25 by taking the nearest frame. */
  fps?: number;
  frames?: { yaw?: number | null; pitch?: number | null; roll?: number | null }[];
}

function readLabels(file: string): FolderLabels {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FolderLabels;
  } catch (error) {
    throw new DatasetError(file, `cannot be read as JSON (${(error as Error).message})`, 'Fix or delete it (the clip reads without it: emotion from the folder, no poses)');
  }
}

/** A frames folder's images in numeric order, checked to share one size. */
function frameImages(dir: string): string[] {
  const files = readdirSync(dir)
    .filter((f) => IMAGE.test(f))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((f) => path.join(dir, f));
  if (!files.length) throw new DatasetError(dir, 'has no PNG or JPEG frames', 'Put the clip\'s frames there (000000.png, 000001.png, ... at 25 fps)');
  const first = readImageHeader(files[0]!);
  for (const file of files) {
    const header = readImageHeader(file);
    if (header.width !== first.width || header.height !== first.height) throw new DatasetError(file, `is ${header.width}x${header.height}; the clip's first frame is ${first.width}x${first.height}`, 'Every frame of a clip must have one size');
  }
  return files;
}

/** Which of `count` frames at `fromFps` show the moments of frames at `toFps` (the nearest one each). */
export function resampleIndices(count: number, fromFps: number, toFps: number): number[] {
  if (!(fromFps > 0 && fromFps <= 240)) throw new Error(`A frame rate must be above 0 and at most 240; got ${fromFps}`);
  if (fromFps === toFps) return Array.from({ length: count }, (_, i) => i);
  const out = Math.max(1, Math.floor((count * toFps) / fromFps + 1e-9));
  return Array.from({ length: out }, (_, j) => Math.min(count - 1, Math.round((j * fromFps) / toFps)));
}

async function* folderFrames(files: string[], indices: number[]): AsyncGenerator<RgbImage> {
  for (const i of indices) yield await decodeImageFile(files[i]!);
}

async function readAudio(file: string, options: FfmpegOptions): Promise<PcmAudio> {
  if (file.toLowerCase().endsWith('.wav')) return decodeWav(readFileSync(file), file);
  return decodeAudioFile(file, options);
}

/** The frame size landmarks are measured at: the detector needs more pixels than a 64 px crop has. */
const LANDMARK_SIZE = 192;

class SkipClip extends Error {}

/** Crops and landmarks of one clip, frames streamed from its folder or video. */
async function readClip(source: MeadClipSource, options: ReadMeadOptions, size: number): Promise<SpeakClip> {
  const margin = options.margin ?? DEFAULT_FIND_OPTIONS.margin;
  const every = options.landmarkEvery ?? 1;
  const frames: Uint8Array[] = [];
  let box: CropBox | undefined;
  const origin = source.video ?? source.framesDir!;
  const labels = source.labels ? readLabels(source.labels) : {};
  // A frames folder is taken at labels.json's fps (25 without one) and resampled to 25.
  const files = source.framesDir ? frameImages(source.framesDir) : [];
  const indices = resampleIndices(files.length, labels.fps ?? 25, 25);
  // Labels and speech are checked before the slow face work.
  const emotion = labels.emotion ?? source.emotion;
  if (!isEmotion(emotion)) throw new DatasetError(source.labels!, `names the emotion "${emotion}", not one of the 8 MEAD emotions (${EMOTIONS.join(', ')})`, 'Fix it, or delete it to take the emotion from the folder name');
  const intensity = labels.intensity ?? source.intensity;
  if (!(intensity >= 0 && intensity <= 1)) throw new DatasetError(source.labels!, `gives the intensity ${intensity}; it must be from 0 to 1`, 'Fix it, or delete it to take the intensity from the level folder');
  const labelledPoses = poses(labels, files.length, source.labels);
  let audio = await readAudio(source.audio, options);
  const stream = source.video ? videoFrames(source.video, { ...options, fps: 25, maxFrames: options.maxFrames, maxSide: options.videoMaxSide ?? Math.max(720, 4 * size) }) : folderFrames(files, indices);
  // Head pose by human's face mesh on the crop (so roll is the crop's, eyes levelled at the first
  // frame), when a meter is given and labels.json gives none.
  const meter = labelledPoses ? undefined : options.poseMeter;
  const step = every > 0 ? every : meter ? 1 : 0;
  const measure = async (image: RgbImage) => {
    const crop = cutCrop(image, box!, Math.max(size, LANDMARK_SIZE));
    const k = size / crop.width;
    const [face] = every > 0 ? await detectFaces(crop) : [];
    const pose = meter ? await meter.headPose(crop) : null;
    return {
      points: face ? Float32Array.from(face.landmarks.flatMap(([x, y]) => [x * k, y * k])) : null,
      pose: pose ? Float32Array.of(pose.yaw, pose.pitch, pose.roll) : null,
    };
  };
  const points: (Float32Array | null)[] = [];
  const angles: (Float32Array | null)[] = [];
  const record = (i: number, m: { points: Float32Array | null; pose: Float32Array | null } | null) => {
    points[i] = m?.points ?? null;
    angles[i] = m?.pose ?? null;
  };
  let pending: RgbImage | undefined;
  for await (const image of stream) {
    if (!box) {
      const [face] = await detectFaces(image);
      if (!face) throw new SkipClip(`the real detector finds no face in the first frame of ${origin}`);
      box = alignedCropBox(face.landmarks, margin);
    }
    const i = frames.length;
    frames.push(cutCrop(image, box, size).data);
    const wanted = step > 0 && i % step === 0;
    record(i, wanted ? await measure(image) : null);
    pending = wanted ? undefined : image;
    if (options.maxFrames !== undefined && frames.length >= options.maxFrames) break;
  }
  if (!frames.length) throw new DatasetError(origin, 'has no frames', 'Check the file with ffmpeg -i, or put the frames back');
  // The last frame is always measured, so interpolation never runs past the end.
  if (pending) record(frames.length - 1, await measure(pending));
  if (options.maxFrames !== undefined) {
    const keep = Math.min(audio.samples.length, Math.floor((frames.length * audio.sampleRate) / 25));
    audio = { sampleRate: audio.sampleRate, samples: audio.samples.slice(0, keep) };
  }
  return {
    id: source.id,
    identity: source.actor,
    emotion,
    intensity,
    size,
    frameCount: frames.length,
    fps: 25,
    frame: (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= frames.length) throw new RangeError(`Frame ${i} is outside clip ${source.id} (${frames.length} frames)`);
      return frames[i]!;
    },
    landmarks: every > 0 ? interpolate(points, points.map((p) => p !== null)) : null,
    poses: labelledPoses ? indices.slice(0, frames.length).map((i) => labelledPoses[i]!) : measuredPoses(angles),
    audio,
  };
}

function measuredPoses(angles: (Float32Array | null)[]): ClipPose[] | null {
  const filled = interpolate(angles, angles.map((a) => a !== null));
  return filled ? filled.map(([yaw, pitch, roll]) => ({ yaw: yaw!, pitch: pitch!, roll: roll! })) : null;
}

/** Fills the frames without landmarks linearly from the nearest measured ones; null when none was measured. */
export function interpolate(values: (Float32Array | null)[], known: boolean[]): Float32Array[] | null {
  const at = known.flatMap((k, i) => (k ? [i] : []));
  if (!at.length) return null;
  return values.map((_, i) => {
    if (known[i]) return values[i]!;
    const after = at.find((j) => j > i);
    const before = [...at].reverse().find((j) => j < i);
    if (before === undefined) return Float32Array.from(values[after!]!);
    if (after === undefined) return Float32Array.from(values[before]!);
    const t = (i - before) / (after - before);
    const a = values[before]!;
    const b = values[after]!;
    return a.map((v, k) => v + (b[k]! - v) * t);
  });
}

function poses(labels: FolderLabels, count: number, file: string | undefined): ClipPose[] | null {
  const frames = labels.frames;
  if (!frames) return null;
  if (frames.length !== count) throw new DatasetError(file!, `gives ${frames.length} frames of labels for a clip of ${count} frames`, 'Give one entry per frame, or remove the frames list');
  const known = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!frames.every((f) => known(f.yaw) && known(f.pitch) && known(f.roll))) return null;
  return frames.map((f) => ({ yaw: f.yaw!, pitch: f.pitch!, roll: f.roll! }));
}

/** The clips of a MEAD-style folder one at a time (each held until the caller drops it), options checked first. */
export async function* meadClips(dir: string, options: ReadMeadOptions = {}): AsyncGenerator<SpeakClip> {
  const size = options.size ?? 64;
  if (!Number.isInteger(size) || size < 16 || size > 1024) throw new Error(`The crop size must be a whole number of pixels from 16 to 1024; got ${size}.`);
  const every = options.landmarkEvery ?? 1;
  if (!Number.isInteger(every) || every < 0) throw new Error(`landmarkEvery must be a whole number, 0 (no landmarks) or more; got ${every}.`);
  if (options.maxFrames !== undefined && (!Number.isInteger(options.maxFrames) || options.maxFrames < 1)) throw new Error(`maxFrames must be a whole number of at least 1; got ${options.maxFrames}.`);
  let sources = scanMead(dir, options.view);
  const actors = [...new Set(sources.map((s) => s.actor))];
  if (options.identities) {
    const missing = options.identities.filter((id) => !actors.includes(id));
    if (missing.length) throw new Error(`${dir} has no actor ${missing.join(', ')}; it has ${actors.join(', ')}.`);
    sources = sources.filter((s) => options.identities!.includes(s.actor));
  }
  if (options.emotions) sources = sources.filter((s) => options.emotions!.includes(s.emotion));
  for (const [k, source] of sources.entries()) {
    let clip: SpeakClip | undefined;
    try {
      clip = await readClip(source, options, size);
    } catch (error) {
      if (!(error instanceof SkipClip)) throw error;
      if (!options.onClipSkipped) throw new Error(`Clip ${source.id}: ${error.message}. Remove the clip, or read with onClipSkipped to leave such clips out.`);
      options.onClipSkipped(source.id, error.message);
    }
    options.onProgress?.(k + 1, sources.length, source.id);
    if (clip) yield clip;
  }
}

/** Reads a MEAD-style folder into memory: faces found, cropped and measured by the real detector. */
export async function readMead(dir: string, options: ReadMeadOptions = {}): Promise<ClipSet> {
  const clips: SpeakClip[] = [];
  for await (const clip of meadClips(dir, options)) clips.push(clip);
  return { clips, identities: [...new Set(clips.map((c) => c.identity))] };
}
