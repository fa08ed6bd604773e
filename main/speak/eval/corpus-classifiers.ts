/**
 * The evaluation's own judges, trained on procedural corpus frames with ground-truth labels:
 * an emotion classifier (the 8 MEAD classes), a head-pose regressor (yaw, pitch, roll in
 * degrees) and a 68-landmark regressor. Each is a separate small CNN with its own weights, NOT
 * the SPEAK model's encoders (a model must not grade itself). They read a generated frame and
 * say which emotion, pose and landmarks it shows, so the table can compare that with what was
 * asked for. Saved as a file pair: `<name>.json` (manifest) + `<name>.bin` (float32 weights).
 *
 * Why a landmark regressor rather than face-api's 68-point net for M-LMD/F-LMD: face-api's
 * points sit 6.9% of the eye distance off the renderer's ground truth on corpus faces (jaw
 * 13%, it follows the visible outline; README), a bias as large as the errors we measure, and it
 * reads 64 px crops upscaled. A regressor trained on the renderer's exact points carries no such
 * bias; the table states its own error against the ground truth beside the LMDs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';
import { readTensors, writeAtomically, writeTensors } from '../../engine/train/weights';
import { createRng, randomInt } from '../../data/random';
import { EMOTIONS, type Emotion } from '../corpus/emotions';
import type { ClipPose } from '../data/clip';
import { conv, dense, instanceNorm, lrelu, Params } from '../model/nn';
import type { FrameSet } from './frame-set';

export type InstrumentKind = 'emotion' | 'pose' | 'landmarks';
export const INSTRUMENT_FORMAT = 'blockwise-speak-instrument/1';
/** Pose targets are degrees / POSE_SCALE so the regressor's outputs stay near [-1, 1]. */
const POSE_SCALE = 30;

export interface InstrumentSettings {
  /** Frames are resized to this side before the net (64 default; landmarks are kept relative). */
  inputSize: number;
  /** Channels of the first conv; the next three double, quadruple, quadruple it. */
  width: number;
  /** Units of the hidden dense layer. */
  hidden: number;
  /** Adam learning rate. */
  learningRate: number;
  batchSize: number;
  seed: number;
  /** Colour jitter while training (plus shift and mirror for the emotion classifier). */
  augment: boolean;
  /** A full-resolution 3x3 conv before the stride-2 ones (about 3x the compute; finer cues). */
  stem: boolean;
}

export const DEFAULT_INSTRUMENT_SETTINGS: InstrumentSettings = { inputSize: 64, width: 16, hidden: 96, learningRate: 1e-3, batchSize: 32, seed: 1, augment: true, stem: false };

export interface CorpusInstrument {
  kind: InstrumentKind;
  settings: InstrumentSettings;
  params: Params;
  /** Optimiser steps trained so far. */
  steps: number;
}

const OUTPUTS: Record<InstrumentKind, number> = { emotion: EMOTIONS.length, pose: 3, landmarks: 136 };

export function createInstrument(kind: InstrumentKind, settings: Partial<InstrumentSettings> = {}): CorpusInstrument {
  if (!(kind in OUTPUTS)) throw new Error(`Unknown instrument "${kind}": choose emotion, pose or landmarks`);
  const full = { ...DEFAULT_INSTRUMENT_SETTINGS, ...settings };
  for (const key of ['inputSize', 'width', 'hidden', 'batchSize'] as const) {
    if (!Number.isInteger(full[key]) || full[key] < 1) throw new Error(`Instrument setting ${key} must be a positive integer (got ${full[key]})`);
  }
  if (full.inputSize % 16 !== 0) throw new Error(`inputSize must be a multiple of 16 (four stride-2 convs); got ${full.inputSize}`);
  return { kind, settings: full, params: new Params(kind, full.seed), steps: 0 };
}

/** The CNN: an optional full-resolution stem, four stride-2 3x3 convs, flatten (position matters for pose and landmarks), dense, head. */
function forward(inst: CorpusInstrument, images: tf.Tensor4D): tf.Tensor2D {
  const { inputSize, width, hidden } = inst.settings;
  const p = inst.params;
  let x: tf.Tensor4D = images.shape[1] === inputSize && images.shape[2] === inputSize ? images : tf.image.resizeBilinear(images, [inputSize, inputSize]);
  x = tf.sub(x, 0.5);
  // For the emotion classifier, instance norm on the first level(s) takes out each face's colours
  // and contrast (who it is), leaving shapes (what it does): held-out accuracy 0.26 -> 0.35 at 24
  // identities. Pose and landmarks keep them (they learnt pitch worse with it).
  // The optional stem sees 1-px moves of brows, lids and lips (about 3x the compute).
  const norm = (t: tf.Tensor4D) => (inst.kind === 'emotion' ? instanceNorm(t) : t);
  if (inst.settings.stem) x = norm(lrelu(conv(p, 'c0', x, width, 3, 1)) as tf.Tensor4D);
  x = norm(lrelu(conv(p, 'c1', x, width, 3, 2)) as tf.Tensor4D);
  x = lrelu(conv(p, 'c2', x, width * 2, 3, 2)) as tf.Tensor4D;
  x = lrelu(conv(p, 'c3', x, width * 4, 3, 2)) as tf.Tensor4D;
  x = lrelu(conv(p, 'c4', x, width * 4, 3, 2)) as tf.Tensor4D;
  const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
  const h = lrelu(dense(p, 'fc', flat, hidden)) as tf.Tensor2D;
  return dense(p, 'out', h, OUTPUTS[inst.kind], 'small');
}

/** Params makes variables on first use: one forward pass on a blank frame creates them all. */
function ensureBuilt(inst: CorpusInstrument): void {
  if (inst.params.variables().length === 0) tf.tidy(() => forward(inst, tf.zeros([1, inst.settings.inputSize, inst.settings.inputSize, 3]) as tf.Tensor4D));
}

/** Targets of frames `rows` in the net's units (class index, pose / 30, landmarks in [-1, 1]). */
function targets(inst: CorpusInstrument, set: FrameSet, rows: readonly number[]): tf.Tensor {
  if (inst.kind === 'emotion') return tf.oneHot(tf.tensor1d(rows.map((r) => set.emotion[r]!), 'int32'), EMOTIONS.length);
  const n = OUTPUTS[inst.kind];
  const source = inst.kind === 'pose' ? set.pose : set.landmarks;
  const out = new Float32Array(rows.length * n);
  rows.forEach((r, i) => {
    for (let k = 0; k < n; k++) {
      const v = source[r * n + k]!;
      if (Number.isNaN(v)) throw new Error(`Frame ${r} has no ${inst.kind} label: train the ${inst.kind} instrument on frames that carry one`);
      out[i * n + k] = inst.kind === 'pose' ? v / POSE_SCALE : (v / set.size) * 2 - 1;
    }
  });
  return tf.tensor2d(out, [rows.length, n]);
}

function batchImages(set: FrameSet, rows: readonly number[], augment: { kind: InstrumentKind; rng: () => number } | null = null): tf.Tensor4D {
  const per = set.size * set.size * 3;
  const out = new Float32Array(rows.length * per);
  rows.forEach((r, i) => {
    const frame = set.pixels.subarray(r * per, (r + 1) * per);
    if (augment) augmentFrame(frame, out.subarray(i * per, (i + 1) * per), set.size, augment.kind, augment.rng);
    else out.set(frame, i * per);
  });
  return tf.tensor4d(out, [rows.length, set.size, set.size, 3]);
}

/**
 * Training-time jitter so a judge learns the factor, not the few people it saw: per-channel
 * gain and offset (skin, light and background colours) for every kind; for the emotion
 * classifier also a shift of up to 3 px and a mirror (neither changes the emotion; both would
 * change pose and landmark labels, so those kinds keep their geometry).
 */
function augmentFrame(src: Float32Array, dst: Float32Array, size: number, kind: InstrumentKind, rng: () => number): void {
  const gain = [0, 1, 2].map(() => 0.85 + 0.3 * rng());
  const offset = [0, 1, 2].map(() => (rng() - 0.5) * 0.1);
  const geometric = kind === 'emotion';
  const dx = geometric ? Math.floor(rng() * 7) - 3 : 0;
  const dy = geometric ? Math.floor(rng() * 7) - 3 : 0;
  const mirror = geometric && rng() < 0.5;
  for (let y = 0; y < size; y++) {
    const sy = Math.min(size - 1, Math.max(0, y + dy));
    for (let x = 0; x < size; x++) {
      const sx0 = Math.min(size - 1, Math.max(0, x + dx));
      const sx = mirror ? size - 1 - sx0 : sx0;
      for (let c = 0; c < 3; c++) {
        const v = src[(sy * size + sx) * 3 + c]! * gain[c]! + offset[c]!;
        dst[(y * size + x) * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

function loss(inst: CorpusInstrument, out: tf.Tensor2D, target: tf.Tensor): tf.Scalar {
  if (inst.kind === 'emotion') return tf.losses.softmaxCrossEntropy(target, out) as tf.Scalar;
  return tf.mean(tf.square(tf.sub(out, target))) as tf.Scalar;
}

export interface TrainProgress {
  step: number;
  steps: number;
  loss: number;
  elapsedMs: number;
}

/**
 * Train `steps` Adam steps on random batches of `set` (seeded by the settings' seed and the steps
 * already done, so training in two calls replays like one). Returns the loss of every step.
 */
export async function trainInstrument(inst: CorpusInstrument, set: FrameSet, steps: number, onProgress?: (p: TrainProgress) => void): Promise<number[]> {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer (got ${steps})`);
  if (set.count === 0) throw new Error('The frame set is empty: nothing to train on');
  ensureBuilt(inst);
  const optimizer = tf.train.adam(inst.settings.learningRate);
  const rng = createRng(inst.settings.seed * 7919 + inst.steps);
  const started = Date.now();
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const rows = Array.from({ length: Math.min(inst.settings.batchSize, set.count) }, () => randomInt(rng, set.count));
      const value = tf.tidy(() => {
        const images = batchImages(set, rows, inst.settings.augment ? { kind: inst.kind, rng } : null);
        const target = targets(inst, set, rows);
        return optimizer.minimize(() => loss(inst, forward(inst, images), target), true, inst.params.trainable()) as tf.Scalar;
      });
      const v = (await value.data())[0]!;
      value.dispose();
      if (!Number.isFinite(v)) throw new Error(`The ${inst.kind} instrument's loss became ${v} at step ${inst.steps + 1}: lower learningRate`);
      losses.push(v);
      inst.steps++;
      onProgress?.({ step: s + 1, steps, loss: v, elapsedMs: Date.now() - started });
    }
  } finally {
    optimizer.dispose();
  }
  return losses;
}

/** The raw outputs for the frames of side `size` ([0, 1] floats, NHWC), in chunks. */
async function outputs(inst: CorpusInstrument, pixels: Float32Array, size: number): Promise<{ values: Float32Array; count: number }> {
  const per = size * size * 3;
  const count = pixels.length / per;
  if (!Number.isInteger(count) || count < 1) throw new Error(`${pixels.length} values are not a whole number of ${size}x${size}x3 frames`);
  const n = OUTPUTS[inst.kind];
  const out = new Float32Array(count * n);
  const chunk = 64;
  for (let start = 0; start < count; start += chunk) {
    const m = Math.min(chunk, count - start);
    const y = tf.tidy(() => forward(inst, tf.tensor4d(pixels.subarray(start * per, (start + m) * per), [m, size, size, 3])));
    out.set((await y.data()) as Float32Array, start * n);
    y.dispose();
  }
  return { values: out, count };
}

function checkKind(inst: CorpusInstrument, kind: InstrumentKind): void {
  if (inst.kind !== kind) throw new Error(`This is the ${inst.kind} instrument; ${kind} predictions need the ${kind} instrument`);
}

/** Class probabilities (EMOTIONS order) and the top class per frame. */
export async function predictEmotions(inst: CorpusInstrument, pixels: Float32Array, size: number): Promise<{ probabilities: Float32Array[]; emotions: Emotion[] }> {
  checkKind(inst, 'emotion');
  const { values: logits, count } = await outputs(inst, pixels, size);
  const probabilities: Float32Array[] = [];
  const emotions: Emotion[] = [];
  for (let i = 0; i < count; i++) {
    const row = logits.subarray(i * 8, i * 8 + 8);
    const max = Math.max(...row);
    const e = row.map((v) => Math.exp(v - max));
    const total = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / total);
    probabilities.push(p);
    emotions.push(EMOTIONS[p.indexOf(Math.max(...p))]!);
  }
  return { probabilities, emotions };
}

/** Yaw, pitch, roll in degrees per frame. */
export async function predictPoses(inst: CorpusInstrument, pixels: Float32Array, size: number): Promise<ClipPose[]> {
  checkKind(inst, 'pose');
  const { values: y, count } = await outputs(inst, pixels, size);
  return Array.from({ length: count }, (_, i) => ({ yaw: y[3 * i]! * POSE_SCALE, pitch: y[3 * i + 1]! * POSE_SCALE, roll: y[3 * i + 2]! * POSE_SCALE }));
}

/** 68 landmarks per frame in pixels of the given frames, [x0, y0, ...]. */
export async function predictLandmarks(inst: CorpusInstrument, pixels: Float32Array, size: number): Promise<Float32Array[]> {
  checkKind(inst, 'landmarks');
  const { values: y, count } = await outputs(inst, pixels, size);
  return Array.from({ length: count }, (_, i) => y.slice(i * 136, (i + 1) * 136).map((v) => ((v + 1) / 2) * size));
}

/** Confusion counts: [true class][predicted class], EMOTIONS order. */
export async function emotionConfusion(inst: CorpusInstrument, set: FrameSet): Promise<number[][]> {
  const { emotions } = await predictEmotions(inst, set.pixels, set.size);
  const counts = EMOTIONS.map(() => EMOTIONS.map(() => 0));
  emotions.forEach((e, i) => counts[set.emotion[i]!]![EMOTIONS.indexOf(e)]!++);
  return counts;
}

/** Share of frames whose top emotion is their label. */
export async function emotionAccuracy(inst: CorpusInstrument, set: FrameSet): Promise<number> {
  const { emotions } = await predictEmotions(inst, set.pixels, set.size);
  return emotions.filter((e, i) => EMOTIONS.indexOf(e) === set.emotion[i]).length / set.count;
}

/** Mean absolute error in degrees per axis over the set. */
export async function poseError(inst: CorpusInstrument, set: FrameSet): Promise<ClipPose> {
  const poses = await predictPoses(inst, set.pixels, set.size);
  const sum = { yaw: 0, pitch: 0, roll: 0 };
  poses.forEach((p, i) => {
    sum.yaw += Math.abs(p.yaw - set.pose[3 * i]!);
    sum.pitch += Math.abs(p.pitch - set.pose[3 * i + 1]!);
    sum.roll += Math.abs(p.roll - set.pose[3 * i + 2]!);
  });
  return { yaw: sum.yaw / set.count, pitch: sum.pitch / set.count, roll: sum.roll / set.count };
}

interface Manifest {
  format: typeof INSTRUMENT_FORMAT;
  kind: InstrumentKind;
  settings: InstrumentSettings;
  steps: number;
  /** Output order of the emotion classifier (EMOTIONS when saved). */
  classes?: string[];
  names: string[];
  shapes: number[][];
  sha256: string;
}

/** `x.json` -> [`x.json`, `x.bin`]; a path without .json gets both extensions. */
export function instrumentFiles(file: string): { manifest: string; weights: string } {
  const base = file.endsWith('.json') ? file.slice(0, -5) : file;
  return { manifest: `${base}.json`, weights: `${base}.bin` };
}

/** Save as `<base>.json` + `<base>.bin`; run the net once (train or predict) before saving. */
export async function saveInstrument(inst: CorpusInstrument, file: string): Promise<{ manifest: string; weights: string; bytes: number }> {
  const files = instrumentFiles(file);
  const vars = inst.params.variables();
  if (vars.length === 0) throw new Error(`The ${inst.kind} instrument has no weights yet: train it before saving`);
  const { bytes, shapes } = await writeTensors(vars.map((v) => v.variable), files.weights);
  const sha256 = crypto.createHash('sha256').update(fs.readFileSync(files.weights)).digest('hex');
  const manifest: Manifest = {
    format: INSTRUMENT_FORMAT,
    kind: inst.kind,
    settings: inst.settings,
    steps: inst.steps,
    ...(inst.kind === 'emotion' ? { classes: [...EMOTIONS] } : {}),
    names: vars.map((v) => v.name),
    shapes,
    sha256,
  };
  writeAtomically(files.manifest, JSON.stringify(manifest, null, 1));
  return { ...files, bytes };
}

/**
 * Load an instrument saved by saveInstrument; `expected` (if given) must be its kind. Refuses a
 * missing, unreadable, foreign, damaged or mismatched file pair with a message saying which.
 */
export function loadInstrument(file: string, expected?: InstrumentKind): CorpusInstrument {
  const files = instrumentFiles(file);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(files.manifest, 'utf8')) as Manifest;
  } catch (error) {
    throw new Error(`${files.manifest} cannot be read as an instrument manifest (${(error as Error).message}): train the instrument again (bench/speak-eval-instruments.ts) or restore the file`);
  }
  if (manifest?.format !== INSTRUMENT_FORMAT) throw new Error(`${files.manifest} is not an evaluation instrument (format ${JSON.stringify(manifest?.format)}, expected ${INSTRUMENT_FORMAT})`);
  if (expected && manifest.kind !== expected) throw new Error(`${files.manifest} holds the ${manifest.kind} instrument; the ${expected} instrument was asked for`);
  if (manifest.kind === 'emotion' && (manifest.classes ?? []).join(',') !== EMOTIONS.join(',')) {
    throw new Error(`${files.manifest} was trained for classes [${manifest.classes}], not this studio's [${EMOTIONS}]: train it again`);
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(files.weights);
  } catch (error) {
    throw new Error(`${files.weights} cannot be read (${(error as Error).message}): the weights belong beside ${files.manifest}`);
  }
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.sha256) throw new Error(`${files.weights} is damaged: its SHA-256 ${sha.slice(0, 12)}... differs from the manifest's ${String(manifest.sha256).slice(0, 12)}...; train the instrument again or restore the file`);
  const inst = createInstrument(manifest.kind, manifest.settings);
  inst.steps = manifest.steps;
  ensureBuilt(inst);
  const vars = inst.params.variables();
  const names = vars.map((v) => v.name);
  if (names.join(',') !== manifest.names.join(',')) {
    inst.params.dispose();
    throw new Error(`${files.manifest} names weights [${manifest.names.slice(0, 4)}...] that this instrument does not make [${names.slice(0, 4)}...]: it was saved by another version`);
  }
  try {
    readTensors(vars.map((v) => v.variable), files.weights, manifest.shapes);
  } catch (error) {
    inst.params.dispose();
    throw error;
  }
  return inst;
}

export function disposeInstrument(inst: CorpusInstrument): void {
  inst.params.dispose();
}
