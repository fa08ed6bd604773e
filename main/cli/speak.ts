/**
 * `blockwise speak ...`: the talking-head commands. `corpus` renders the procedural training
 * corpus; `train` trains the SPEAK model through the same code as the studio's talking-head job
 * (checkpoints in its --out folder, Ctrl+C stops it there and the same command resumes it);
 * `generate` makes a clip from a trained model, a photo and speech (the studio's generation
 * task, in-process); `eval` is parsed and checked, and refused until the evaluation lands.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BACKEND_IDS, type BackendId } from '../../shared/ids';
import { SPEAK_SIZES, talkingHeadSettings, type TalkingHeadSettings } from '../../shared/speak/settings';
import { MAX_BLINKS_PER_MINUTE } from '../../shared/speak/performance';
import type { JobEvent } from '../jobs/events';
import { EMOTIONS, isEmotion, type Emotion } from '../speak/corpus/emotions';
import { writeCorpus, type CorpusOptions, type CorpusProgress } from '../speak/corpus/corpus-writer';
import { CLIP_FILE, generateToFolder } from '../speak/train/generate-task';
import { hasSpeakCheckpoint, MODEL_MANIFEST } from '../speak/train/speak-checkpoint';
import { stagesToBuild, trainSpeak } from '../speak/train/train-speak';
import { selectBackend } from '../engine/backend/select';
import { evaluateModel } from '../speak/eval/evaluate-model';
import type { MotionMode } from '../speak/speak-model';
import { formatEvalTable, type SpeakEvalRow } from '../speak/eval/eval-table';
import { packageDir } from '../speak/instruments/model-files';
import { descriptorsOf, realFacePool, withoutPeople, writeRealFacePool } from '../speak/data/real-face-pool';
import { CliError } from './args';

export const SPEAK_USAGE = `Usage: blockwise speak corpus --out DIR --identities N --seed S [options]
  Render the procedural talking-face corpus (needs espeak-ng) as MEAD-style folders:
  DIR/<identity>/<emotion>/level_<k>/<clip>/ with PNG frames at 25 fps, audio.wav, labels.json
  (68 landmarks, yaw/pitch/roll, emotion, intensity, blink, viseme, loudness per frame).
  --size PX               frame side, 64..256 [128]
  --clips-per-emotion N   clips per identity, emotion and level [1]
  --emotions LIST         comma-separated subset of ${EMOTIONS.join(',')} [all]
  --levels LIST           intensity levels, subset of 1,2,3 [1,2,3] (neutral has level 1 only)
  --max-frames N          cut every clip to N frames (quick previews) [whole sentence]

       blockwise speak train --out DIR [options]
  Train the talking-head model (SyncNet, then IRFD, then the generator) as the studio's
  talking-head job does, into DIR: a checkpoint while it trains (Ctrl+C stops there; the same
  command resumes), then model.json + model.bin.
  --corpus DIR            train on a corpus folder (blockwise speak corpus writes one) [procedural]
  --held-out N            with --corpus: people kept out of training, chosen by --seed [0]
  --identities N          procedural people made in memory (needs espeak-ng) [8]
  --seed S                seed of the people, the weights and the batches [0]
  --size PX               64, 128 or 256 [64]
  --steps N | syncnet=N,irfd=N,generator=N   optimiser steps per stage [300 each]
  --emotions LIST / --max-frames N   procedural data: emotions and frames per clip [all / whole]
  --lr X [0.0001]  --checkpoint-every N [50]  --backend B (${BACKEND_IDS.join(', ')}) [best present]
  --model-settings JSON   each stage's own settings, e.g. {"irfd":{"width":16}}

       blockwise speak generate --model DIR --image PHOTO --audio WAV --out DIR [options]
  A talking-head clip of the face in PHOTO saying WAV: frames at 25 fps and the audio.
  --emotion LIST          weights over the 8 emotions, e.g. happy=0.8,surprised=0.2 [neutral=1]
  --intensity X           emotion intensity, 0..1 [1]
  --yaw D --pitch D --roll D   constant head pose in degrees, -90..90 [0]
  --pose-curve FILE       keyframed pose instead: JSON [{"t": seconds, "yaw", "pitch", "roll"}, ...]
  --seed S                seed of the generator's noise (the same seed repeats a clip) [0]
  --blinks N              blinks a minute, 0..${MAX_BLINKS_PER_MINUTE}, placed by the seed (painted: the model has no blink input) [0]
  --largest-face          a photo with several faces: take the largest (else it is refused)
  --backend B             ${BACKEND_IDS.join(', ')} [best present]
  DIR gets 000000.png ... (25 fps), audio.wav and clip.json; it must be new or empty.

       blockwise speak eval --model DIR [--model DIR2 ...] [options]
  The evaluation table: each model (e.g. the full one, then its ablations) measured on held-out
  procedural people (SSIM, PSNR, F-/M-LMD, SyncNet confidence against shuffled audio, corpus
  emotion and pose classifiers) and on real photos (real descriptor, expressions, face mesh).
  --identities N --seed S   held-out procedural people [4, seed 9000]
  --frames N              frames per held-out clip [50]
  --photo FILE            a real photo (repeatable) [face-api's six demo photos, largest face]
  --instruments DIR       where the corpus instruments are kept, trained there on first use [tmp]
  --instrument-steps N    their training steps when missing (on 80 people) [3000]
  --motion M              how faces are driven: absolute (the motion head's landmarks), relative
                          (the face's own moved by the head's change) or posed (turned by geometry) [absolute]
  --backend B             ${BACKEND_IDS.join(', ')} [best present]

       blockwise speak faces --out FILE [options]
  The real faces a generator trains beside the procedural people (model.generator.realFaces):
  every usable face of group photos, aligned and cropped with its 68 landmarks, one JSON file.
  --photos LIST           comma-separated photos [human's screenshots of many faces]
  --exclude LIST          photos whose people stay out [the evaluation's photos, when --photos is not given]
  --size PX               crop side, the model's: 64, 128 or 256 [64]
  --min-face PX           smallest face used, detector box width in the photo [40]`;

export interface SpeakCorpusCommand {
  command: 'corpus';
  options: Omit<CorpusOptions, 'onProgress'>;
}

export interface SpeakTrainCommand {
  command: 'train';
  out: string;
  settings: TalkingHeadSettings;
}

export interface PoseKey {
  t: number;
  yaw: number;
  pitch: number;
  roll: number;
}

export interface SpeakGenerateCommand {
  command: 'generate';
  model: string;
  image: string;
  audio: string;
  out: string;
  /** Weights over the 8 emotions, summing to 1. */
  emotion: Partial<Record<Emotion, number>>;
  intensity: number;
  /** A constant pose, or keyframes sorted by time. */
  pose: { yaw: number; pitch: number; roll: number } | PoseKey[];
  noiseSeed: number;
  blinksPerMinute: number;
  backend?: BackendId;
  largestFace: boolean;
}

export interface SpeakEvalCommand {
  command: 'eval';
  /** One model per row of the table (the model, then its ablations). */
  models: string[];
  identities: number;
  seed: number;
  /** Frames per held-out clip. */
  frames: number;
  photos: string[];
  instruments: string;
  instrumentSteps: number;
  /** How faces are driven (all rows). */
  motion: MotionMode;
  backend?: BackendId;
}

export interface SpeakFacesCommand {
  command: 'faces';
  out: string;
  size: number;
  photos: string[];
  /** People in these photos are left out (the evaluation's photos, by default). */
  exclude: string[];
  minFaceSize: number;
}

export type SpeakCommand = SpeakCorpusCommand | SpeakTrainCommand | SpeakGenerateCommand | SpeakEvalCommand | SpeakFacesCommand | { command: 'help' };

const wholeNumber = (flag: string, value: string | undefined): number => {
  if (value === undefined || !/^\d+$/.test(value)) throw new CliError(`${flag} needs a whole number (got ${value ?? 'nothing'}).\n${SPEAK_USAGE}`);
  return Number(value);
};

const realNumber = (flag: string, value: string | undefined, min: number, max: number): number => {
  const n = value === undefined || value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new CliError(`${flag} needs a number from ${min} to ${max} (got ${value ?? 'nothing'}).`);
  return n;
};

const folderValue = (flag: string, value: string | undefined, what = 'a folder'): string => {
  if (!value || value.startsWith('--')) throw new CliError(`${flag} needs ${what}.\n${SPEAK_USAGE}`);
  return value;
};

const MOTION_MODES: readonly MotionMode[] = ['absolute', 'relative', 'posed'];
function motionValue(value: string | undefined): MotionMode {
  if (!(MOTION_MODES as readonly string[]).includes(value ?? '')) throw new CliError(`--motion must be one of ${MOTION_MODES.join(', ')} (got ${value ?? 'nothing'}).`);
  return value as MotionMode;
}

function backendValue(value: string | undefined): BackendId {
  if (!(BACKEND_IDS as readonly string[]).includes(value ?? '')) throw new CliError(`--backend must be one of ${BACKEND_IDS.join(', ')} (got ${value ?? 'nothing'}).`);
  return value as BackendId;
}

function emotionList(flag: string, value: string | undefined): Emotion[] {
  const list = (value ?? '').split(',').map((v) => v.trim().toLowerCase());
  for (const e of list) if (!isEmotion(e)) throw new CliError(`${flag}: "${e}" is not a MEAD emotion; choose from ${EMOTIONS.join(', ')}.`);
  return list as Emotion[];
}

/** Walks `--flag value` pairs, calling `take` for each; unknown flags are refused by `take`. */
function eachFlag(rest: readonly string[], take: (flag: string, value: string | undefined) => void): void {
  for (let i = 0; i < rest.length; i += 2) take(rest[i]!, rest[i + 1]);
}

export function parseSpeakCli(argv: readonly string[]): SpeakCommand {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { command: 'help' };
  switch (sub) {
    case 'corpus':
      return parseCorpus(rest);
    case 'train':
      return parseTrain(rest);
    case 'generate':
      return parseGenerate(rest);
    case 'eval':
      return parseEval(rest);
    case 'faces':
      return parseFaces(rest);
    default:
      throw new CliError(`Unknown speak command "${sub}": use corpus, train, generate, eval or faces.\n${SPEAK_USAGE}`);
  }
}

function parseCorpus(rest: readonly string[]): SpeakCorpusCommand {
  const options: Partial<CorpusOptions> = {};
  eachFlag(rest, (flag, value) => {
    switch (flag) {
      case '--out': options.out = folderValue(flag, value); break;
      case '--identities': options.identities = wholeNumber(flag, value); break;
      case '--seed': options.seed = wholeNumber(flag, value); break;
      case '--size': options.size = wholeNumber(flag, value); break;
      case '--clips-per-emotion': options.clipsPerEmotion = wholeNumber(flag, value); break;
      case '--max-frames': options.maxFrames = wholeNumber(flag, value); break;
      case '--levels': options.levels = (value ?? '').split(',').map((v) => wholeNumber(flag, v)); break;
      case '--emotions': options.emotions = emotionList(flag, value); break;
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak corpus.\n${SPEAK_USAGE}`);
    }
  });
  for (const [key, flag] of [['out', '--out DIR'], ['identities', '--identities N'], ['seed', '--seed S']] as const) {
    if (options[key] === undefined) throw new CliError(`blockwise speak corpus needs ${flag}.\n${SPEAK_USAGE}`);
  }
  return { command: 'corpus', options: options as CorpusOptions };
}

/** Settings fields as the flags that set them, for messages. */
const FLAG_OF: Record<string, string> = {
  size: '--size',
  seed: '--seed',
  lr: '--lr',
  checkpointEvery: '--checkpoint-every',
  backend: '--backend',
  steps: '--steps',
  'data.identities': '--identities',
  'data.dir': '--corpus',
  'data.heldOut': '--held-out',
  'data.maxFrames': '--max-frames',
  model: '--model-settings',
};

function parseTrain(rest: readonly string[]): SpeakTrainCommand {
  let out: string | undefined;
  let corpus: string | undefined;
  let identities: number | undefined;
  let heldOut: number | undefined;
  let seed: number | undefined;
  let emotions: Emotion[] | undefined;
  let maxFrames: number | undefined;
  const input: Record<string, unknown> = {};
  eachFlag(rest, (flag, value) => {
    switch (flag) {
      case '--out': out = folderValue(flag, value); break;
      case '--corpus': corpus = folderValue(flag, value, 'the corpus folder'); break;
      case '--identities': identities = wholeNumber(flag, value); break;
      case '--held-out': heldOut = wholeNumber(flag, value); break;
      case '--seed': seed = wholeNumber(flag, value); break;
      case '--size': input.size = wholeNumber(flag, value); break;
      case '--steps': input.steps = stepsValue(value); break;
      case '--emotions': emotions = emotionList(flag, value); break;
      case '--max-frames': maxFrames = wholeNumber(flag, value); break;
      case '--lr': input.lr = realNumber(flag, value, Number.MIN_VALUE, 1); break;
      case '--checkpoint-every': input.checkpointEvery = wholeNumber(flag, value); break;
      case '--backend': input.backend = backendValue(value); break;
      case '--model-settings':
        try {
          input.model = JSON.parse(value ?? '');
        } catch {
          throw new CliError(`--model-settings needs a JSON object such as {"irfd":{"width":16}} (got ${value ?? 'nothing'}).`);
        }
        break;
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak train.\n${SPEAK_USAGE}`);
    }
  });
  if (!out) throw new CliError(`blockwise speak train needs --out DIR (where the checkpoint and the model go).\n${SPEAK_USAGE}`);
  if (seed !== undefined) input.seed = seed;
  if (corpus !== undefined) {
    const clash = [identities !== undefined && '--identities', emotions && '--emotions', maxFrames !== undefined && '--max-frames'].filter(Boolean);
    if (clash.length) throw new CliError(`${clash.join(', ')} describe procedural people; with --corpus the corpus folder says who is in it. Give one or the other.`);
    input.data = { source: 'corpus', dir: corpus, ...(heldOut !== undefined ? { heldOut } : {}), ...(seed !== undefined ? { seed } : {}) };
  } else {
    if (heldOut !== undefined) throw new CliError('--held-out goes with --corpus: procedural people are held out by giving evaluation other ones.');
    input.data = { source: 'procedural', ...(identities !== undefined ? { identities } : {}), ...(seed !== undefined ? { seed } : {}), ...(emotions ? { emotions } : {}), ...(maxFrames !== undefined ? { maxFrames } : {}) };
  }
  const parsed = talkingHeadSettings.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join('.');
      const flag = FLAG_OF[field] ?? FLAG_OF[issue.path.map(String).slice(0, 2).join('.')] ?? FLAG_OF[String(issue.path[0])];
      return `${flag ? `${flag} (${field})` : field || 'settings'}: ${issue.message}`;
    });
    throw new CliError(`Invalid talking-head settings: ${issues.join('; ')}.`);
  }
  return { command: 'train', out, settings: parsed.data };
}

/** `--steps 300` (every stage) or `--steps syncnet=100,irfd=200,generator=0`. */
function stepsValue(value: string | undefined): Record<string, number> {
  if (value !== undefined && /^\d+$/.test(value)) {
    const n = Number(value);
    return { syncnet: n, irfd: n, generator: n };
  }
  const steps: Record<string, number> = {};
  for (const part of (value ?? '').split(',')) {
    const [stage, count] = part.split('=');
    if (!stage || !['syncnet', 'irfd', 'generator'].includes(stage.trim()) || count === undefined || !/^\d+$/.test(count.trim())) {
      throw new CliError(`--steps needs a whole number, or stage=N pairs from syncnet, irfd, generator such as syncnet=100,irfd=200,generator=300 (got ${value ?? 'nothing'}).`);
    }
    steps[stage.trim()] = Number(count.trim());
  }
  return steps;
}

function existingFile(flag: string, file: string, what: string): string {
  if (!fs.existsSync(file)) throw new CliError(`${flag}: ${file} does not exist; give ${what}.`);
  if (!fs.statSync(file).isFile()) throw new CliError(`${flag}: ${file} is a folder; give ${what}.`);
  return file;
}

function modelFolder(flag: string, dir: string): string {
  if (!fs.existsSync(path.join(dir, MODEL_MANIFEST))) {
    throw new CliError(`${flag}: ${dir} holds no trained talking-head model (no ${MODEL_MANIFEST}); give the --out folder of a finished blockwise speak train.`);
  }
  return dir;
}

function parseGenerate(rest: readonly string[]): SpeakGenerateCommand {
  const given: Partial<Record<'model' | 'image' | 'audio' | 'out' | 'poseCurve', string>> = {};
  let emotion: Partial<Record<Emotion, number>> | undefined;
  let intensity = 1;
  let noiseSeed = 0;
  let blinksPerMinute = 0;
  let backend: BackendId | undefined;
  let largestFace = false;
  const angles: Partial<Record<'yaw' | 'pitch' | 'roll', number>> = {};
  // --largest-face takes no value: the pairs walk does not see it.
  const pairs = rest.filter((flag) => flag !== '--largest-face');
  largestFace = pairs.length !== rest.length;
  eachFlag(pairs, (flag, value) => {
    switch (flag) {
      case '--model': given.model = folderValue(flag, value, 'a trained model folder'); break;
      case '--image': given.image = folderValue(flag, value, 'a photo (PNG or JPEG)'); break;
      case '--audio': given.audio = folderValue(flag, value, 'a WAV file'); break;
      case '--out': given.out = folderValue(flag, value); break;
      case '--pose-curve': given.poseCurve = folderValue(flag, value, 'a JSON file'); break;
      case '--emotion': emotion = emotionWeights(value); break;
      case '--intensity': intensity = realNumber(flag, value, 0, 1); break;
      case '--seed': noiseSeed = wholeNumber(flag, value); break;
      case '--blinks': blinksPerMinute = realNumber(flag, value, 0, MAX_BLINKS_PER_MINUTE); break;
      case '--backend': backend = backendValue(value); break;
      case '--yaw':
      case '--pitch':
      case '--roll':
        angles[flag.slice(2) as 'yaw' | 'pitch' | 'roll'] = realNumber(flag, value, -90, 90);
        break;
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak generate.\n${SPEAK_USAGE}`);
    }
  });
  for (const [key, flag] of [['model', '--model DIR'], ['image', '--image PHOTO'], ['audio', '--audio WAV'], ['out', '--out DIR']] as const) {
    if (given[key] === undefined) throw new CliError(`blockwise speak generate needs ${flag}.\n${SPEAK_USAGE}`);
  }
  if (given.poseCurve && Object.keys(angles).length) throw new CliError('Give a constant pose (--yaw, --pitch, --roll) or --pose-curve FILE, not both.');
  modelFolder('--model', given.model!);
  existingFile('--image', given.image!, 'a photo with a face (PNG or JPEG)');
  existingFile('--audio', given.audio!, 'a WAV file of the speech');
  if (!/\.wav$/i.test(given.audio!)) throw new CliError(`--audio: ${given.audio} is not a .wav file; convert the speech to WAV (e.g. ffmpeg -i in.mp3 out.wav).`);
  const pose = given.poseCurve ? poseCurve(existingFile('--pose-curve', given.poseCurve, 'a JSON pose curve')) : { yaw: angles.yaw ?? 0, pitch: angles.pitch ?? 0, roll: angles.roll ?? 0 };
  if (fs.existsSync(given.out!) && (!fs.statSync(given.out!).isDirectory() || fs.readdirSync(given.out!).length > 0)) {
    throw new CliError(`--out: ${given.out} is not a new or empty folder; the clip's frames would mix with what is there. Give another folder.`);
  }
  return { command: 'generate', model: given.model!, image: given.image!, audio: given.audio!, out: given.out!, emotion: emotion ?? { neutral: 1 }, intensity, pose, noiseSeed, blinksPerMinute, largestFace, ...(backend ? { backend } : {}) };
}

/** `happy=0.8,surprised=0.2`: weights over the emotions, each 0..1, not all zero; normalised to sum 1. */
function emotionWeights(value: string | undefined): Partial<Record<Emotion, number>> {
  const weights: Partial<Record<Emotion, number>> = {};
  for (const part of (value ?? '').split(',')) {
    const [name, weight] = part.split('=').map((s) => s.trim().toLowerCase());
    if (!name || !isEmotion(name)) throw new CliError(`--emotion: "${name ?? ''}" is not a MEAD emotion; choose from ${EMOTIONS.join(', ')} (e.g. happy=0.8,surprised=0.2).`);
    if (name in weights) throw new CliError(`--emotion names ${name} twice.`);
    weights[name] = weight === undefined ? 1 : realNumber(`--emotion ${name}`, weight, 0, 1);
  }
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  if (total <= 0) throw new CliError('--emotion: every weight is 0; give at least one emotion a weight above 0.');
  return Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, w / total]));
}

function poseCurve(file: string): PoseKey[] {
  let keys: unknown;
  try {
    keys = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`--pose-curve: ${file} is not valid JSON (${(error as Error).message}).`);
  }
  const shape = 'a JSON list of keyframes like [{"t": 0, "yaw": 0, "pitch": 0, "roll": 0}, {"t": 1.5, "yaw": 20, ...}] (t in seconds, angles in degrees -90..90)';
  if (!Array.isArray(keys) || keys.length === 0) throw new CliError(`--pose-curve: ${file} must hold ${shape}.`);
  const curve = keys.map((key: unknown, i) => {
    const k = key as Record<string, unknown>;
    for (const field of ['t', 'yaw', 'pitch', 'roll']) {
      const v = k?.[field];
      const bad = typeof v !== 'number' || !Number.isFinite(v) || (field === 't' ? v < 0 : Math.abs(v) > 90);
      if (bad) throw new CliError(`--pose-curve: keyframe ${i} of ${file} has ${field} = ${JSON.stringify(v)}; it must hold ${shape}.`);
    }
    return { t: k.t as number, yaw: k.yaw as number, pitch: k.pitch as number, roll: k.roll as number };
  });
  for (let i = 1; i < curve.length; i++) if (curve[i]!.t <= curve[i - 1]!.t) throw new CliError(`--pose-curve: keyframe ${i} of ${file} is not after keyframe ${i - 1}; list them in time order.`);
  return curve;
}

/** The real photos the evaluation uses when none are given: face-api's demo pictures (largest face of each). */
export function demoPhotos(): string[] {
  try {
    const dir = path.join(packageDir('@vladmandic/face-api'), 'demo');
    return [1, 2, 3, 4, 5, 6].map((i) => path.join(dir, `sample${i}.jpg`)).filter((f) => fs.existsSync(f));
  } catch {
    return [];
  }
}

function parseEval(rest: readonly string[]): SpeakEvalCommand {
  const models: string[] = [];
  const photos: string[] = [];
  let identities = 4;
  let seed = 9000;
  let frames = 50;
  let instrumentSteps = 3000;
  let instruments = path.join(os.tmpdir(), 'blockwise-speak-instruments');
  let motion: MotionMode = 'absolute';
  let backend: BackendId | undefined;
  eachFlag(rest, (flag, value) => {
    switch (flag) {
      case '--model': models.push(folderValue(flag, value, 'a trained model folder')); break;
      case '--identities': identities = wholeNumber(flag, value); break;
      case '--seed': seed = wholeNumber(flag, value); break;
      case '--frames': frames = wholeNumber(flag, value); break;
      case '--photo': photos.push(existingFile(flag, folderValue(flag, value, 'a photo with a face'), 'a photo with a face (PNG or JPEG)')); break;
      case '--instruments': instruments = folderValue(flag, value, 'a folder for the evaluation instruments'); break;
      case '--instrument-steps': instrumentSteps = wholeNumber(flag, value); break;
      case '--motion': motion = motionValue(value); break;
      case '--backend': backend = backendValue(value); break;
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak eval.\n${SPEAK_USAGE}`);
    }
  });
  if (!models.length) throw new CliError(`blockwise speak eval needs --model DIR.\n${SPEAK_USAGE}`);
  if (identities < 1) throw new CliError('--identities: evaluation needs at least 1 held-out person.');
  if (frames < 2) throw new CliError('--frames: each held-out clip needs at least 2 frames (SyncNet compares frames over time).');
  if (instrumentSteps < 1) throw new CliError('--instrument-steps: the corpus instruments need at least 1 training step.');
  return { command: 'eval', models: models.map((m) => modelFolder('--model', m)), identities, seed, frames, photos: photos.length ? photos : demoPhotos(), instruments, instrumentSteps, motion, ...(backend ? { backend } : {}) };
}

/** The group photos the shipped recipe's real faces come from when none are given: human's screenshots (MIT). */
export function groupPhotos(): string[] {
  try {
    const dir = path.join(packageDir('@vladmandic/human'), 'assets');
    return ['screenshot-facematch.jpg', 'screenshot-facedetect.jpg', 'screenshot-faceid.jpg'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  } catch {
    return [];
  }
}

function parseFaces(rest: readonly string[]): SpeakFacesCommand {
  let out: string | undefined;
  let size = 64;
  let minFaceSize = 40;
  const photos: string[] = [];
  const exclude: string[] = [];
  const files = (flag: string, value: string | undefined) => folderValue(flag, value, 'photos (comma-separated PNG or JPEG files)').split(',').map((f) => existingFile(flag, f, 'a photo (PNG or JPEG)'));
  eachFlag(rest, (flag, value) => {
    switch (flag) {
      case '--out': out = folderValue(flag, value, 'the pool file to write (JSON)'); break;
      case '--size': size = wholeNumber(flag, value); break;
      case '--photos': photos.push(...files(flag, value)); break;
      case '--exclude': exclude.push(...files(flag, value)); break;
      case '--min-face': minFaceSize = wholeNumber(flag, value); break;
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak faces.\n${SPEAK_USAGE}`);
    }
  });
  if (!out) throw new CliError(`blockwise speak faces needs --out FILE.\n${SPEAK_USAGE}`);
  if (!(SPEAK_SIZES as readonly number[]).includes(size)) throw new CliError(`--size must be one of ${SPEAK_SIZES.join(', ')} (the model's frame side; got ${size}).`);
  const chosen = photos.length ? photos : groupPhotos();
  if (!chosen.length) throw new CliError('blockwise speak faces needs --photos: the default group photos (@vladmandic/human assets) are not installed.');
  return { command: 'faces', out, size, photos: chosen, exclude: photos.length || exclude.length ? exclude : demoPhotos(), minFaceSize };
}

// ---------------------------------------------------------------------------------------------

function corpusProgress(stream: NodeJS.WriteStream): (p: CorpusProgress) => void {
  const started = Date.now();
  return (p) => {
    const seconds = (Date.now() - started) / 1000;
    const eta = (seconds / p.clipsDone) * (p.clipsTotal - p.clipsDone);
    const width = 24, filled = Math.round((p.clipsDone / p.clipsTotal) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] clip ${p.clipsDone}/${p.clipsTotal} ${p.clip}  ${p.framesDone} frames, ${(p.framesDone / Math.max(seconds, 1e-3)).toFixed(1)} frames/s, ETA ${Math.round(eta)} s`;
    if (stream.isTTY) stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd((stream.columns ?? 120) - 1)}`);
    else stream.write(`${line}\n`);
  };
}

const clock = (seconds: number) => {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600) ? `${Math.floor(s / 3600)}:` : ''}${String(Math.floor(s / 60) % 60).padStart(Math.floor(s / 3600) ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`;
};

/** One line per step on a terminal (rewritten), every 10th step and each stage's last in a log. */
function trainProgress(stream: NodeJS.WriteStream, stages: readonly string[]): (event: JobEvent) => void {
  let losses = '';
  return (event) => {
    if (event.type === 'records' && event.metrics?.length) losses = event.metrics.map((m) => `${m.key.slice(m.key.indexOf('.') + 1)} ${m.value.toPrecision(4)}`).join(' ');
    if (event.type !== 'progress') return;
    const p = event.progress;
    const line = `${stages[p.epoch - 1]} (stage ${p.epoch}/${p.epochs}) step ${p.step}/${p.stepsPerEpoch}  ${losses}  ${p.imagesPerSecond.toFixed(1)} frames/s  ETA ${clock(p.etaSeconds)}`;
    if (stream.isTTY) stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd((stream.columns ?? 120) - 1)}`);
    else if (p.step % 10 === 0 || p.step === p.stepsPerEpoch) stream.write(`${line}\n`);
  };
}

const SETTINGS_FILE = 'settings.json';

/**
 * `speak train`: the job's own trainer with DIR as its run folder. A checkpoint there from the
 * same settings is resumed; one from other settings, or a finished model, is refused.
 */
async function runTrain(cli: SpeakTrainCommand): Promise<void> {
  const settingsFile = path.join(cli.out, SETTINGS_FILE);
  if (fs.existsSync(path.join(cli.out, MODEL_MANIFEST))) throw new CliError(`${cli.out} holds a trained model already; give another --out folder.`);
  if (hasSpeakCheckpoint(cli.out)) {
    const saved = fs.existsSync(settingsFile) ? fs.readFileSync(settingsFile, 'utf8') : '';
    if (saved !== JSON.stringify(cli.settings)) throw new CliError(`${cli.out} holds the checkpoint of a run with other settings (${settingsFile}); give the same flags to resume it, or another --out folder.`);
    console.error(`Resuming the run in ${cli.out} from its checkpoint`);
  } else {
    // A new or empty folder (or one whose run stopped before its first checkpoint): the run's files must not mix with others.
    const others = fs.existsSync(cli.out) ? fs.readdirSync(cli.out).filter((name) => name !== SETTINGS_FILE) : [];
    if (others.length) throw new CliError(`${cli.out} already holds other files (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', ...' : ''}); give a new or empty --out folder.`);
    fs.mkdirSync(cli.out, { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify(cli.settings));
  }
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    console.error('\nStopping after this step (Ctrl+C again to quit at once)...');
  };
  process.on('SIGINT', onSigint);
  const show = trainProgress(process.stderr, stagesToBuild(cli.settings));
  try {
    const result = await trainSpeak({ runId: 0, settings: cli.settings, filesDir: cli.out }, show, () => stop);
    if (process.stderr.isTTY) process.stderr.write('\n');
    console.log(`talking-head model written to ${cli.out} (${MODEL_MANIFEST}, model.bin) in ${result.seconds.toFixed(1)} s on ${result.backend}`);
    for (const [key, value] of Object.entries(result.lastLosses)) console.log(`  last ${key.padEnd(28)} ${value.toPrecision(5)}`);
  } catch (error) {
    if (stop) {
      console.error(`\nStopped; the checkpoint is in ${cli.out}. Run the same command again to continue.`);
      process.exit(130); // as a shell reports Ctrl+C (blockwise.ts exits 0 after a command that returns)
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** `speak generate`: the same task the studio runs in a job worker, here in-process with a progress line. */
async function runGenerate(cli: SpeakGenerateCommand): Promise<void> {
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const stream = process.stderr;
  try {
    const result = await generateToFolder(
      { model: cli.model, image: cli.image, audio: cli.audio, out: cli.out, emotion: { weights: cli.emotion, intensity: cli.intensity }, pose: cli.pose, noiseSeed: cli.noiseSeed, blinksPerMinute: cli.blinksPerMinute, largestFace: cli.largestFace, ...(cli.backend ? { backend: cli.backend } : {}) },
      (event) => {
        if (event.type !== 'progress') return;
        const p = event.progress;
        const line = `frame ${p.step}/${p.stepsPerEpoch}  ${p.imagesPerSecond.toFixed(1)} frames/s  ETA ${clock(p.etaSeconds)}`;
        if (stream.isTTY) stream.write(`\r${line}`);
        else if (p.step === p.stepsPerEpoch) stream.write(`${line}\n`);
      },
      () => stop,
    );
    if (stream.isTTY) stream.write('\n');
    console.log(`${result.frames} frames at ${result.size} px, ${result.fps} fps, written to ${result.out} (PNG frames, audio.wav, ${CLIP_FILE}) in ${result.seconds.toFixed(1)} s on ${result.backend}; photo landmarks measured on the ${result.measuredOn}`);
  } catch (error) {
    if (stop) {
      console.error('\nStopped; no clip was written.');
      process.exit(130);
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** `speak eval`: one row per model (the first, then its ablations) on held-out people and real photos, printed as the table. */
async function runEval(cli: SpeakEvalCommand): Promise<void> {
  const backend = await selectBackend(cli.backend);
  const rows: SpeakEvalRow[] = [];
  const notes: string[] = [];
  for (const model of cli.models) {
    console.error(`evaluating ${model} on ${backend.id}: ${cli.identities} held-out people (seed ${cli.seed}), ${cli.photos.length} real photos`);
    const { row, judges } = await evaluateModel(model, {
        label: path.basename(path.resolve(model)),
        heldOut: { count: cli.identities, first: 0, seed: cli.seed, maxFrames: cli.frames },
        photos: cli.photos,
        instrumentsDir: cli.instruments,
        instrumentTraining: { identities: 80, steps: cli.instrumentSteps, seed: 11 },
        syncnetFrom: cli.models[0],
        motion: cli.motion,
        onProgress: (message) => console.error(`  ${message}`),
    });
    rows.push(row);
    notes.push(`${row.label}: mouth opening (landmark judge) against the speech's loudness, Pearson r = ${judges.mouthLoudness.own.toFixed(2)} with its own speech, ${judges.mouthLoudness.shuffled.toFixed(2)} with another clip's (the control).`);
    if (notes.length === 1) notes.unshift(`The corpus judges on the held-out people's TRUE frames (their ceiling): emotion accuracy ${(100 * judges.emotionAccuracy).toFixed(1)}%, pose error ${judges.poseError.yaw.toFixed(1)} / ${judges.poseError.pitch.toFixed(1)} / ${judges.poseError.roll.toFixed(1)} degrees.`);
  }
  console.log(formatEvalTable(rows, undefined, notes));
}

/** Run `blockwise speak ...` (argv after 'speak'). */
export async function runSpeak(argv: readonly string[]): Promise<void> {
  const cli = parseSpeakCli(argv);
  switch (cli.command) {
    case 'help':
      console.log(SPEAK_USAGE);
      return;
    case 'corpus': {
      const manifest = writeCorpus({ ...cli.options, onProgress: corpusProgress(process.stderr) });
      if (process.stderr.isTTY) process.stderr.write('\n');
      console.log(`corpus written to ${cli.options.out}: ${manifest.identities.length} identities, ${manifest.clips.length} clips, ${manifest.totalFrames} frames at ${manifest.size} px (manifest.json)`);
      return;
    }
    case 'train':
      return runTrain(cli);
    case 'generate':
      return runGenerate(cli);
    case 'eval':
      return runEval(cli);
    case 'faces':
      return runFaces(cli);
  }
}

async function runFaces(cli: SpeakFacesCommand): Promise<void> {
  await selectBackend('wasm');
  const pool = withoutPeople(await realFacePool(cli.photos, cli.size, { minFaceSize: cli.minFaceSize }), await descriptorsOf(cli.exclude));
  if (!pool.faces.length) throw new CliError(`No usable face in ${cli.photos.join(', ')} (${pool.skipped.length} seen, none usable): ${pool.skipped.slice(0, 5).join('; ')}`);
  writeRealFacePool(cli.out, cli.size, pool);
  console.log(`${pool.faces.length} real faces at ${cli.size} px written to ${cli.out} (${pool.skipped.length} left out: too small, no landmarks, profiles, or people of ${cli.exclude.length} excluded photos)`);
}
