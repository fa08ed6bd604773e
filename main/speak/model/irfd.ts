/**
 * IRFD, SPEAK's Inter-Reconstructed Feature Disentanglement (methods.md 5.1, losses 5.2): three
 * image encoders E_i (identity), E_e (emotion), E_p (pose), an emotion classifier C_m on the
 * emotion code, and a decoder G_d(mlp(f_I, f_E, f_P)). A training step encodes a source S and a
 * target T, swaps exactly one attribute code between them, decodes the two mixed faces,
 * re-encodes them and compares their codes with the originals (L_id, L_pose, L_emo), with
 * L_cls on the emotion codes and L_self on self-reconstructions. The slider mappers
 * (code-mappers.ts) train in the same stage. After this stage the encoders are used frozen.
 *
 * Ours, not the paper's: the encoders are small ResNets (paper: ResNet-50), G_d is a small conv
 * decoder with AdaIN of the mlp code standing in for StyleGAN2 (a constant-free start from the
 * code, upsampling blocks, AdaIN at every block as StyleGAN2's style modulation does).
 * Two additions, each a setting that restores the paper when off: code distances relative to the
 * batch's code spread (relativeCodes; as written, a 100-step run collapsed f_P and f_E to
 * constants: code variance 2e-2 -> 2e-6, C_m at chance) and L_poseLabel on f_P
 * (poseLabelWeight; the corpus has pose labels, the paper's data has none).
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';
import { createRng, mixSeed, randomInt } from '../../data/random';
import { EMOTIONS } from '../corpus/emotions';
import type { ClipSet, SpeakClip } from '../data/clip';
import type { SpeakStage } from '../train/stage';
import { emotionToCode, mapperLoss, poseToCode } from './code-mappers';
import { adain, conv, dense, downsample2x, globalPool, lrelu, Params, resBlock, upsample2x } from './nn';

export const IRFD_ATTRIBUTES = ['identity', 'emotion', 'pose'] as const;
export type IrfdAttribute = (typeof IRFD_ATTRIBUTES)[number];

/** The five paper losses by the names the stage reports. */
export const IRFD_LOSSES = ['id', 'cls', 'pose', 'emo', 'self'] as const;
export type IrfdLossName = (typeof IRFD_LOSSES)[number];

/** Sizes of the nets (what a model file must match). */
export interface IrfdArchitecture {
  /** Side of the images the nets work at (64 | 128 | 256; others that are powers of two >= 16 work too). */
  size: number;
  /** Base channel count of encoders and decoder. */
  width: number;
  identityDim: number;
  emotionDim: number;
  poseDim: number;
  /** Width of mlp(f_I, f_E, f_P), the decoder's style code. */
  styleDim: number;
}

export interface IrfdSettings extends IrfdArchitecture {
  /** Source/target pairs per step. */
  batch: number;
  /** Adam learning rate (paper 1e-4; our tiny nets take larger). */
  lr: number;
  /** Margin alpha of L_id (the paper does not give it). */
  margin: number;
  /**
   * 'paper': L_id exactly as the paper's equation (both distances are same-identity distances,
   * of S and of T to their re-encoded mixes). 'anchor': the usual triplet with anchor E_i(S),
   * positive the mix carrying S's identity, negative the mix carrying T's.
   */
  identityLoss: 'paper' | 'anchor';
  /** Loss weights; 0 switches a loss off (the ablations). */
  weights: Record<IrfdLossName, number>;
  /** Weight of the slider mappers' regression losses (they move only the mappers). */
  mapperWeight: number;
  /**
   * Ours: weight of L_poseLabel, a small head R_p regressing the pose labels (degrees / 30) from
   * f_P, as C_m supervises f_E with the emotion labels. The paper's data has no pose labels; the
   * corpus has them, and without them f_P need not follow yaw/pitch/roll, which the pose sliders
   * need. Frames without poses are left out. 0 = the paper's losses only.
   */
  poseLabelWeight: number;
  /** Chance that T is drawn from another identity than S (when the set has more than one). */
  otherIdentityRate: number;
  /**
   * Ours: measure the code distances of L_id, L_pose and L_emo in units of how far apart the
   * batch's codes of that attribute are (their RMS spread over S and T). As written the paper's
   * distances fall to 0 when an encoder shrinks its codes toward a constant, and a small run
   * does exactly that (f_P and f_E collapse, f_I takes everything: measured, see the tests);
   * relative distances cannot be lowered by shrinking, only by agreeing. false = as written.
   */
  relativeCodes: boolean;
}

export const DEFAULT_IRFD_SETTINGS: IrfdSettings = {
  size: 64,
  width: 16,
  identityDim: 64,
  emotionDim: 16,
  poseDim: 8,
  styleDim: 128,
  batch: 8,
  lr: 1e-4,
  margin: 0.2,
  identityLoss: 'paper',
  weights: { id: 1, cls: 1, pose: 1, emo: 1, self: 1 },
  mapperWeight: 1,
  poseLabelWeight: 1,
  otherIdentityRate: 0.9,
  relativeCodes: true,
};

export type IrfdSettingsInput = Partial<Omit<IrfdSettings, 'weights'>> & { weights?: Partial<Record<IrfdLossName, number>> };

/** Settings with defaults filled in, checked; a bad value throws saying which and what to give. */
export function irfdSettings(input: IrfdSettingsInput = {}): IrfdSettings {
  const s: IrfdSettings = { ...DEFAULT_IRFD_SETTINGS, ...input, weights: { ...DEFAULT_IRFD_SETTINGS.weights, ...input.weights } };
  if (!Number.isInteger(Math.log2(s.size)) || s.size < 16) throw new Error(`IRFD size ${s.size} must be a power of two >= 16 (64, 128 or 256)`);
  for (const key of ['width', 'identityDim', 'emotionDim', 'poseDim', 'styleDim', 'batch'] as const) {
    if (!Number.isInteger(s[key]) || s[key] < 1) throw new Error(`IRFD ${key} must be a whole number >= 1, got ${String(s[key])}`);
  }
  if (!(s.lr > 0)) throw new Error(`IRFD lr must be > 0, got ${String(s.lr)}`);
  if (!(s.margin >= 0)) throw new Error(`IRFD margin must be >= 0, got ${String(s.margin)}`);
  if (s.identityLoss !== 'paper' && s.identityLoss !== 'anchor') throw new Error(`IRFD identityLoss must be 'paper' or 'anchor', got ${String(s.identityLoss)}`);
  for (const [name, w] of Object.entries(s.weights)) {
    if (!(IRFD_LOSSES as readonly string[]).includes(name)) throw new Error(`Unknown IRFD loss weight '${name}'; the losses are ${IRFD_LOSSES.join(', ')}`);
    if (!(w >= 0)) throw new Error(`IRFD weight of ${name} must be >= 0 (0 switches it off), got ${String(w)}`);
  }
  if (!(s.mapperWeight >= 0)) throw new Error(`IRFD mapperWeight must be >= 0, got ${String(s.mapperWeight)}`);
  if (!(s.poseLabelWeight >= 0)) throw new Error(`IRFD poseLabelWeight must be >= 0, got ${String(s.poseLabelWeight)}`);
  if (typeof s.relativeCodes !== 'boolean') throw new Error(`IRFD relativeCodes must be true or false, got ${String(s.relativeCodes)}`);
  if (!(s.otherIdentityRate >= 0 && s.otherIdentityRate <= 1)) throw new Error(`IRFD otherIdentityRate must be in 0..1, got ${String(s.otherIdentityRate)}`);
  return s;
}

// ---------------------------------------------------------------- nets

/** A small ResNet: strided stem, residual blocks halving down to 8 x 8, global pool, linear head. */
function imageEncoder(p: Params, images: tf.Tensor4D, width: number, dim: number): tf.Tensor2D {
  const levels = Math.log2(images.shape[1] / 8);
  let h = lrelu(conv(p, 'stem', tf.sub(tf.mul(images, 2), 1) as tf.Tensor4D, width, 3, 2)) as tf.Tensor4D;
  let c = width;
  for (let k = 1; k < levels; k++) {
    h = downsample2x(resBlock(p, `block${k}`, h, c));
    c = Math.min(c * 2, width * 8);
  }
  h = resBlock(p, `block${levels}`, h, c);
  return dense(p, 'head', globalPool(h), dim);
}

export interface FaceCodes {
  identity: tf.Tensor2D;
  emotion: tf.Tensor2D;
  pose: tf.Tensor2D;
}

/** Reads the architecture back from trained params (widths and code sizes from variable shapes). */
export function irfdArchitecture(p: Params): IrfdArchitecture {
  const shapes = new Map(p.variables().map(({ name, variable }) => [name.slice(p.prefix ? p.prefix.length + 1 : 0), variable.shape]));
  const stem = shapes.get('E_i.stem.w');
  if (!stem) throw new Error('These params hold no IRFD encoders (no E_i.stem.w): train the irfd stage or load its model file first');
  let blocks = 0;
  while (shapes.has(`E_i.block${blocks + 1}.c1.w`)) blocks++;
  return {
    size: 8 * 2 ** blocks,
    width: stem[3]!,
    identityDim: shapes.get('E_i.head.w')![1]!,
    emotionDim: shapes.get('E_e.head.w')![1]!,
    poseDim: shapes.get('E_p.head.w')![1]!,
    styleDim: shapes.get('G_d.mlp.fc2.w')?.[1] ?? DEFAULT_IRFD_SETTINGS.styleDim,
  };
}

/**
 * The three codes of face images [N, H, W, 3] in [0, 1] (resized to the nets' size when needed).
 * For the other stages: call inside a tidy, with the IRFD variables left out of their var lists
 * (frozen). `arch` defaults to what the params were trained with.
 */
export function encodeFaces(p: Params, images: tf.Tensor4D, arch: IrfdArchitecture = irfdArchitecture(p)): FaceCodes {
  const x = images.shape[1] === arch.size && images.shape[2] === arch.size ? images : tf.image.resizeBilinear(images, [arch.size, arch.size]);
  return {
    identity: imageEncoder(p.scope('E_i'), x, arch.width, arch.identityDim),
    emotion: imageEncoder(p.scope('E_e'), x, arch.width, arch.emotionDim),
    pose: imageEncoder(p.scope('E_p'), x, arch.width, arch.poseDim),
  };
}

/** C_m: logits over the 8 MEAD emotions (order EMOTIONS) from f_E. */
export function classifyEmotion(p: Params, emotionCode: tf.Tensor2D): tf.Tensor2D {
  const q = p.scope('C_m');
  return dense(q, 'out', lrelu(dense(q, 'hidden', emotionCode, 32)) as tf.Tensor2D, EMOTIONS.length);
}

/** Degrees per unit of R_p's output. */
const POSE_LABEL_SCALE = 30;

/** R_p (ours): (yaw, pitch, roll) / 30 from f_P, for L_poseLabel. */
export function regressPose(p: Params, poseCode: tf.Tensor2D): tf.Tensor2D {
  const q = p.scope('R_p');
  return dense(q, 'out', lrelu(dense(q, 'hidden', poseCode, 32)) as tf.Tensor2D, 3);
}

/** G_d(mlp(concat f_I, f_E, f_P)) -> images [N, size, size, 3] in [0, 1]. */
export function decodeFaces(p: Params, codes: FaceCodes, arch: IrfdArchitecture): tf.Tensor4D {
  const q = p.scope('G_d');
  // mlp: StyleGAN2's mapping network in small.
  const joined = tf.concat([codes.identity, codes.emotion, codes.pose], 1) as tf.Tensor2D;
  const style = dense(q, 'mlp.fc2', lrelu(dense(q, 'mlp.fc1', joined, arch.styleDim)) as tf.Tensor2D, arch.styleDim);
  const levels = Math.log2(arch.size / 4);
  const channelsAt = (k: number) => Math.min(arch.width * 8, arch.width * 2 ** Math.max(0, levels - k));
  let c = channelsAt(0);
  let h = tf.reshape(dense(q, 'start', style, 16 * c), [-1, 4, 4, c]) as tf.Tensor4D;
  h = lrelu(adain(q, 'ada0', h, style)) as tf.Tensor4D;
  for (let k = 1; k <= levels; k++) {
    c = channelsAt(k);
    h = conv(q, `up${k}`, upsample2x(h), c);
    h = lrelu(adain(q, `ada${k}`, h, style)) as tf.Tensor4D;
  }
  return tf.sigmoid(conv(q, 'rgb', h, 3, 1));
}

// ---------------------------------------------------------------- the swap

/** Which original, S or T, each code of a mixed face came from. */
export type CodeSources = Record<IrfdAttribute, 'S' | 'T'>;

/**
 * Swaps exactly one attribute code between S and T: the first mixed face is S with T's
 * `attribute`, the second is T with S's. Returns the codes and where each came from.
 */
export function mixCodes(s: FaceCodes, t: FaceCodes, attribute: IrfdAttribute): { mixed: [FaceCodes, FaceCodes]; sources: [CodeSources, CodeSources] } {
  const fromS: CodeSources = { identity: 'S', emotion: 'S', pose: 'S' };
  const fromT: CodeSources = { identity: 'T', emotion: 'T', pose: 'T' };
  const sources: [CodeSources, CodeSources] = [
    { ...fromS, [attribute]: 'T' },
    { ...fromT, [attribute]: 'S' },
  ];
  const pick = (src: CodeSources): FaceCodes => ({
    identity: (src.identity === 'S' ? s : t).identity,
    emotion: (src.emotion === 'S' ? s : t).emotion,
    pose: (src.pose === 'S' ? s : t).pose,
  });
  return { mixed: [pick(sources[0]), pick(sources[1])], sources };
}

/** The attribute step `step` swaps: drawn from (seed, step), so a resumed run swaps the same. */
export function swapForStep(seed: number, step: number): IrfdAttribute {
  return IRFD_ATTRIBUTES[randomInt(createRng(mixSeed(seed, step, 0x5a4b)), IRFD_ATTRIBUTES.length)]!;
}

// ---------------------------------------------------------------- losses

/** One batch of source and target frames with their labels. */
export interface IrfdBatch {
  source: tf.Tensor4D;
  target: tf.Tensor4D;
  /** Emotion class indices (EMOTIONS order) [B]. */
  sourceEmotion: tf.Tensor1D;
  targetEmotion: tf.Tensor1D;
  sourceIntensity: tf.Tensor1D;
  targetIntensity: tf.Tensor1D;
  /** Pose labels in degrees [B, 3] (zeros where unknown) and a mask [B] of the known rows. */
  sourcePose: tf.Tensor2D;
  targetPose: tf.Tensor2D;
  sourcePoseKnown: tf.Tensor1D;
  targetPoseKnown: tf.Tensor1D;
}

export type IrfdLossTensors = Record<IrfdLossName | 'dis' | 'poseLabel' | 'mapPose' | 'mapEmotion' | 'total', tf.Scalar>;

/** Per-row L2 norm ||a - b||_2 (epsilon inside the root: its gradient at 0 is finite). */
function l2(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  const axes = Array.from({ length: a.rank - 1 }, (_, i) => i + 1);
  return tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(a, b)), axes), 1e-8)) as tf.Tensor1D;
}

/**
 * Every loss of one IRFD step (call inside a tidy or a gradient tape). The paper's five:
 * - L_id = max(||E_i(S) - E_i(I_d(i,n,q))|| - ||E_i(T) - E_i(I_d(j,m,p))|| + alpha, 0), where
 *   I_d(i,..) is the mixed face carrying S's identity, I_d(j,..) the one carrying T's
 *   ('anchor' setting: the second distance is from E_i(S) instead, the textbook triplet);
 * - L_cls = cross-entropy of C_m(f_E) against the emotion labels of S and T;
 * - L_pose = ||E_p(mix whose pose came from S) - E_p(S)|| + ||E_p(mix with T's pose) - E_p(T)||;
 * - L_emo the same with E_e;
 * - L_self = ||G_d(mlp(f_I, f_E, f_P of S)) - S|| + the same for T.
 * Norms per sample, averaged over the batch; with relativeCodes (ours, default) the code
 * distances are in units of the batch's code spread. Plus, ours: L_poseLabel (R_p on f_P against
 * the pose labels) and the slider mappers' regressions (mapPose, mapEmotion), which reach only the
 * mappers. total = dis (sum of weight * loss over the weights that are not 0: a 0 leaves the loss
 * out of the graph) + poseLabelWeight * poseLabel + mapperWeight * (mapPose + mapEmotion).
 */
export function irfdLosses(p: Params, batch: IrfdBatch, attribute: IrfdAttribute, settings: IrfdSettings): IrfdLossTensors {
  const s = encodeFaces(p, batch.source, settings);
  const t = encodeFaces(p, batch.target, settings);
  const { mixed, sources } = mixCodes(s, t, attribute);
  const mixedFaces = mixed.map((codes) => decodeFaces(p, codes, settings));
  const re = mixedFaces.map((faces) => encodeFaces(p, faces, settings)) as [FaceCodes, FaceCodes];
  const original = { S: s, T: t };
  // Distances in units of the attribute's code spread (relativeCodes), else as written.
  const spread = (key: IrfdAttribute): tf.Scalar | null => {
    if (!settings.relativeCodes) return null;
    const all = tf.concat([s[key], t[key]]);
    return tf.sqrt(tf.add(tf.mul(tf.mean(tf.sum(tf.square(tf.sub(all, tf.mean(all, 0, true))), 1)), 2), 1e-8)) as tf.Scalar;
  };
  const scaled = (d: tf.Tensor1D, unit: tf.Scalar | null): tf.Tensor1D => (unit ? (tf.div(d, unit) as tf.Tensor1D) : d);

  // Which mix carries S's identity (I_d(i, ., .)) and which T's (I_d(j, ., .)).
  const carriesS = sources[0].identity === 'S' ? 0 : 1;
  const idUnit = spread('identity');
  const dS = scaled(l2(original.S.identity, re[carriesS].identity), idUnit);
  const dT = scaled(settings.identityLoss === 'paper' ? l2(original.T.identity, re[1 - carriesS]!.identity) : l2(original.S.identity, re[1 - carriesS]!.identity), idUnit);
  const id = tf.mean(tf.relu(tf.add(tf.sub(dS, dT), settings.margin))) as tf.Scalar;

  const labels = tf.oneHot(tf.concat([batch.sourceEmotion, batch.targetEmotion]), EMOTIONS.length);
  const logits = classifyEmotion(p, tf.concat([s.emotion, t.emotion]) as tf.Tensor2D);
  const cls = tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

  // Each mix's code of `key` compared with the original it came from.
  const consistency = (key: 'pose' | 'emotion') => {
    const unit = spread(key);
    return tf.mean(tf.add(scaled(l2(re[0][key], original[sources[0][key]][key]), unit), scaled(l2(re[1][key], original[sources[1][key]][key]), unit))) as tf.Scalar;
  };
  const pose = consistency('pose');
  const emo = consistency('emotion');

  // The paper writes G_d(E_i(S) + E_e(S) + E_p(S)): codes of different sizes (64, 16, 8) cannot be
  // added, and everywhere else it decodes mlp(f_I, f_P, f_E); we reconstruct through the same
  // mlp(concat) path the mixed faces take, so L_self trains the very decoder the swaps use.
  const self = tf.mean(tf.add(l2(decodeFaces(p, s, settings), batch.source), l2(decodeFaces(p, t, settings), batch.target))) as tf.Scalar;

  const losses: Record<IrfdLossName, tf.Scalar> = { id, cls, pose, emo, self };
  const active = IRFD_LOSSES.filter((name) => settings.weights[name] !== 0);
  const dis = active.reduce<tf.Scalar>((sum, name) => tf.add(sum, tf.mul(losses[name], settings.weights[name])), tf.scalar(0));

  const mapPose = mapperLoss(
    poseToCode(p, tf.concat([batch.sourcePose, batch.targetPose]) as tf.Tensor2D, settings.poseDim),
    tf.concat([s.pose, t.pose]) as tf.Tensor2D,
    tf.concat([batch.sourcePoseKnown, batch.targetPoseKnown]) as tf.Tensor1D,
  );
  const mapEmotion = mapperLoss(
    emotionToCode(p, labels as tf.Tensor2D, tf.concat([batch.sourceIntensity, batch.targetIntensity]), settings.emotionDim),
    tf.concat([s.emotion, t.emotion]) as tf.Tensor2D,
  );
  const poseLabel = mapperLoss(
    regressPose(p, tf.concat([s.pose, t.pose]) as tf.Tensor2D),
    tf.div(tf.concat([batch.sourcePose, batch.targetPose]), POSE_LABEL_SCALE) as tf.Tensor2D,
    tf.concat([batch.sourcePoseKnown, batch.targetPoseKnown]) as tf.Tensor1D,
  );
  let total = dis;
  if (settings.poseLabelWeight !== 0) total = tf.add(total, tf.mul(poseLabel, settings.poseLabelWeight));
  if (settings.mapperWeight !== 0) total = tf.add(total, tf.mul(tf.add(mapPose, mapEmotion), settings.mapperWeight));
  return { ...losses, dis, poseLabel, mapPose, mapEmotion, total };
}

// ---------------------------------------------------------------- batches

/** A frame of a clip as [H, W, 3] floats in [0, 1] at `size`. */
function frameTensor(clip: SpeakClip, index: number, size: number): tf.Tensor3D {
  return tf.tidy(() => {
    const rgb = tf.div(tf.tensor3d(clip.frame(index), [clip.size, clip.size, 3], 'int32'), 255) as tf.Tensor3D;
    return clip.size === size ? rgb : tf.image.resizeBilinear(rgb, [size, size]);
  });
}

interface Pick {
  clip: SpeakClip;
  frame: number;
}

/** Draws `batch` (S, T) pairs: T mostly of another identity (they may still share emotion or pose). */
export function sampleIrfdBatch(clips: ClipSet, settings: IrfdSettings, rng: () => number): IrfdBatch {
  const frameOf = (clip: SpeakClip): Pick => ({ clip, frame: randomInt(rng, clip.frameCount) });
  const pairs: [Pick, Pick][] = [];
  for (let b = 0; b < settings.batch; b++) {
    const source = frameOf(clips.clips[randomInt(rng, clips.clips.length)]!);
    const others = clips.clips.filter((c) => c.identity !== source.clip.identity);
    const pool = others.length > 0 && rng() < settings.otherIdentityRate ? others : clips.clips;
    pairs.push([source, frameOf(pool[randomInt(rng, pool.length)]!)]);
  }
  const side = (k: 0 | 1) => {
    const picks = pairs.map((pair) => pair[k]);
    const poses = picks.map(({ clip, frame }) => clip.poses?.[frame] ?? null);
    return {
      images: tf.tidy(() => tf.stack(picks.map(({ clip, frame }) => frameTensor(clip, frame, settings.size))) as tf.Tensor4D),
      emotion: tf.tensor1d(picks.map(({ clip }) => EMOTIONS.indexOf(clip.emotion)), 'int32'),
      intensity: tf.tensor1d(picks.map(({ clip }) => clip.intensity)),
      pose: tf.tensor2d(poses.map((q) => (q ? [q.yaw, q.pitch, q.roll] : [0, 0, 0]))),
      known: tf.tensor1d(poses.map((q) => (q ? 1 : 0))),
    };
  };
  const S = side(0);
  const T = side(1);
  return {
    source: S.images,
    target: T.images,
    sourceEmotion: S.emotion,
    targetEmotion: T.emotion,
    sourceIntensity: S.intensity,
    targetIntensity: T.intensity,
    sourcePose: S.pose,
    targetPose: T.pose,
    sourcePoseKnown: S.known,
    targetPoseKnown: T.known,
  };
}

export function disposeBatch(batch: IrfdBatch): void {
  for (const t of Object.values(batch)) (t as tf.Tensor).dispose();
}

// ---------------------------------------------------------------- the stage

export interface IrfdStage extends SpeakStage {
  name: 'irfd';
  settings: IrfdSettings;
  /** The attribute the last step swapped (for logs and the bookkeeping test). */
  lastSwap: IrfdAttribute | null;
  dispose(): void;
}

/** Creates every IRFD variable (encoders, C_m, G_d, mappers) by running each net once on zeros. */
export function buildIrfd(p: Params, settings: IrfdSettings): void {
  tf.tidy(() => {
    const codes = encodeFaces(p, tf.zeros([1, settings.size, settings.size, 3]), settings);
    classifyEmotion(p, codes.emotion);
    regressPose(p, codes.pose);
    decodeFaces(p, codes, settings);
    poseToCode(p, tf.zeros([1, 3]), settings.poseDim);
    emotionToCode(p, tf.oneHot(tf.tensor1d([0], 'int32'), EMOTIONS.length) as tf.Tensor2D, tf.zeros([1]), settings.emotionDim);
  });
}

/**
 * The IRFD training stage: every step draws its batch and its swapped attribute from
 * (seed, step), so a resume repeats the run exactly. Params live under the prefix 'irfd'.
 */
export function createIrfdStage(clips: ClipSet, settingsInput: IrfdSettingsInput = {}, seed = 1): IrfdStage {
  const settings = irfdSettings(settingsInput);
  if (clips.clips.length === 0) throw new Error('IRFD needs at least one clip to train on; the clip set is empty');
  const params = new Params('irfd', seed);
  buildIrfd(params, settings);
  const variables = params.trainable();
  const optimizer = tf.train.adam(settings.lr);
  const stage: IrfdStage = {
    name: 'irfd',
    params,
    optimizer,
    settings,
    lastSwap: null,
    async step(step: number) {
      const attribute = swapForStep(seed, step);
      const batch = sampleIrfdBatch(clips, settings, createRng(mixSeed(seed, step, 0xba7c)));
      let kept: IrfdLossTensors | null = null;
      try {
        optimizer.minimize(
          () => {
            const losses = irfdLosses(params, batch, attribute, settings);
            kept = Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, tf.keep(tf.clone(v))])) as IrfdLossTensors;
            return losses.total;
          },
          false,
          variables,
        );
      } finally {
        disposeBatch(batch);
      }
      const values: Record<string, number> = {};
      for (const [name, t] of Object.entries(kept! as IrfdLossTensors)) {
        values[name] = (await t.data())[0]!;
        t.dispose();
      }
      stage.lastSwap = attribute;
      return values;
    },
    dispose() {
      optimizer.dispose();
      params.dispose();
    },
  };
  return stage;
}

