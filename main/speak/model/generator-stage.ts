/**
 * The generator stage of the `talking-head` job (design item 6): batches of (source frame of a
 * clip's identity, target frame of the same identity with its emotion, pose and audio window);
 * the generator moves the source's pixels to the target and is trained with SPEAK's losses
 * L_GAN + L_sync + L_perc (methods.md 5.2, weights 1; L_perc on face-api features in place of
 * VGG) plus ours: an L1 pixel loss and L_kp, the L2 between the motion head's landmarks and the
 * ground-truth driving landmarks (the corpus has them; the paper has no such loss). The
 * multiscale discriminator takes its own Adam step inside step().
 *
 * The IRFD encoders, the audio encoder and SyncNet come from other stages and are injected as
 * functions of tensors (the caller binds their params): the IRFD encoders and SyncNet are frozen
 * here (the paper reuses IRFD's encoders after pre-training); the audio encoder trains with the
 * generator when its variables are passed (the paper's wav2vec 2.0 is frozen, but ours is small
 * and learned from scratch).
 */
import '@tensorflow/tfjs-layers'; // registers the gradients of every op (tfjs-core alone lacks some)
import * as tf from '@tensorflow/tfjs-core';
import { createRng, mixSeed, randomInt } from '../../data/random';
import { melWindows, type MelWindows } from '../audio/mel';
import type { ClipSet, SpeakClip } from '../data/clip';
import type { SpeakStage } from '../train/stage';
import { DISCRIMINATOR_DEFAULTS, discriminate, discriminatorLoss, generatorGanLoss, type DiscriminatorSettings } from './discriminator';
import { drivingLandmarks, GENERATOR_DEFAULTS, generateFrame, generatorSettingsWith, type GeneratorSettings } from './generator';
import { outsideMouthMask, SPEECH_POINTS } from './mouth';
import { normaliseLandmarks } from './motion';
import { Params } from './nn';
import { createPerceptual, PERCEPTUAL_DEFAULTS, type PerceptualNet, type PerceptualSettings } from './perceptual';

export interface GeneratorLossWeights {
  /** SPEAK's three (paper: all 1). */
  gan: number;
  sync: number;
  perceptual: number;
  /** Ours: mean absolute pixel error. */
  pixel: number;
  /** Ours: mean squared landmark error in normalised units (a 1 px error at 64 px is (2/64)^2 ~ 0.001). */
  keypoints: number;
  /**
   * Ours (issue 14): L_kp again on the points the speech moves only (jaw and lips), over the image
   * batch and the landmark-only batch. The mouth's motion is a few pixels beside the head's, so on
   * all 68 points it is a small share of L_kp; missing or 0: no such term (the old training).
   */
  mouth?: number;
}

export interface GeneratorStageSettings {
  size: number;
  batchSize: number;
  /** Adam learning rates (paper: 1e-4 for both). */
  learningRate: number;
  discriminatorLearningRate: number;
  weights: GeneratorLossWeights;
  /**
   * Share of batches whose dense motion warps with the ground-truth driving landmarks instead of
   * the motion head's (teacher forcing: the warp learns from true motion while the head learns).
   */
  teacherForcing: number;
  /** Take the identity image from the identity's neutral clip when it has one (SPEAK's identity image is neutral). */
  neutralSource: boolean;
  /**
   * Ours (issue 14): extra (source, target) samples per step that train only the audio/code path
   * (audio encoder -> editing module -> motion head) with L_kp (and the mouth term), no images:
   * the frozen IRFD codes of their frames are computed once and kept. The image batch alone gives
   * the audio path too few samples to learn the mouth in the recipe's steps. 0 or missing: none.
   */
  keypointBatch?: number;
  /**
   * Ours (issue 14): the share of the image batch's samples that are real faces held still
   * (GeneratorStageDeps.realFaces: source = target = the photo, its own landmarks and codes,
   * silence). The procedural people alone teach the refinement to paint the renderer's eyes and
   * skin over a real photo; these teach it to pass a real face through. 0 or missing: none.
   */
  realFaceShare?: number;
  /**
   * Ours (issue 14): the real faces speak: each is drawn with a random procedural clip's speech
   * window instead of silence, and judged outside the mouth only (outsideMouthMask: pixel,
   * perceptual, GAN and sync losses see the photo's own mouth there; L_kp leaves out the points the
   * speech moves and the mouth term leaves the row out). Held still in silence, the refinement
   * never met a real face under speech's modulation and painted the renderer's eyes over it.
   */
  realFaceSpeech?: boolean;
  generator: GeneratorSettings;
  discriminator: DiscriminatorSettings;
  perceptual: PerceptualSettings;
}

export const GENERATOR_STAGE_DEFAULTS: GeneratorStageSettings = {
  size: 64,
  batchSize: 4,
  learningRate: 1e-4,
  discriminatorLearningRate: 1e-4,
  weights: { gan: 1, sync: 1, perceptual: 1, pixel: 10, keypoints: 100 },
  teacherForcing: 0.5,
  neutralSource: true,
  generator: GENERATOR_DEFAULTS,
  discriminator: DISCRIMINATOR_DEFAULTS,
  perceptual: PERCEPTUAL_DEFAULTS,
};

export interface FaceCodes {
  identity: tf.Tensor2D;
  emotion: tf.Tensor2D;
  pose: tf.Tensor2D;
}

export interface GeneratorStageDeps {
  /** IRFD's encoders on images [N, S, S, 3] in [0, 1] (frozen here). */
  encodeFaces(images: tf.Tensor4D): FaceCodes;
  /** The audio encoder on mel windows [N, T, M] -> f_a [N, A]. */
  encodeAudio(mel: tf.Tensor3D): tf.Tensor2D;
  /** The audio encoder's variables, trained with the generator when given (a function: they may be made on first use). */
  audioVariables?: () => tf.Variable[];
  /** SyncNet's L_sync between real and generated frames (frozen); without it L_sync is left out. */
  syncLoss?(real: tf.Tensor4D, generated: tf.Tensor4D): tf.Scalar;
  /** The perceptual net; default: face-api's, loaded on the first step when its weight is above 0. */
  perceptual?: PerceptualNet;
  /** Real faces as one-frame silent clips (stillClip), drawn at settings.realFaceShare. */
  realFaces?: SpeakClip[];
}

export interface GeneratorStage extends SpeakStage {
  name: 'generator';
  discriminatorOptimizer: tf.Optimizer;
  /** The generator's own variables (params.scope('generator')), then the audio encoder's. */
  generatorVariables(): tf.Variable[];
  discriminatorVariables(): tf.Variable[];
  /** The real batch step `step` trains on (tensors the caller disposes). */
  sampleBatch(step: number): GeneratorBatch;
  /** The discriminator's own optimiser step (step() runs it after the generator's); returns its loss. */
  trainDiscriminator(batch: GeneratorBatch, fake: tf.Tensor4D): Promise<number>;
  settings: GeneratorStageSettings;
}

interface Sample {
  source: { clip: SpeakClip; frame: number };
  target: { clip: SpeakClip; frame: number };
  /** Whose speech the sample hears when not the target's own (a real face given a procedural clip's). */
  speech?: { clip: SpeakClip; frame: number };
}

export interface GeneratorBatch {
  source: tf.Tensor4D;
  target: tf.Tensor4D;
  sourceLandmarks: tf.Tensor2D;
  targetLandmarks: tf.Tensor2D;
  mel: tf.Tensor3D;
  /**
   * Real faces that speak (realFaceSpeech): per pixel 1 where the frame is judged, 0 in their mouth
   * region [N, S, S, 1], and per landmark coordinate the L_kp weights [N, 136]; absent when no
   * sample of the batch is one.
   */
  judged?: { pixels: tf.Tensor4D; landmarks: tf.Tensor2D; rows: tf.Tensor1D };
}

function checkSettings(clips: ClipSet, s: GeneratorStageSettings): SpeakClip[] {
  if (![64, 128, 256].includes(s.size)) throw new Error(`generator stage: size must be 64, 128 or 256, got ${s.size}`);
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) throw new Error(`generator stage: batchSize must be a whole number >= 1, got ${s.batchSize}`);
  for (const [name, w] of Object.entries(s.weights)) if (!(w >= 0)) throw new Error(`generator stage: loss weight ${name} must be >= 0, got ${w}`);
  const usable = clips.clips.filter((c) => c.landmarks !== null && c.frameCount > 0);
  if (usable.length === 0) throw new Error('generator stage: no clip has landmarks (L_kp and the motion need them); give clips from the procedural corpus or a reader that labels landmarks');
  const wrongSize = usable.find((c) => c.size !== s.size);
  if (wrongSize) throw new Error(`generator stage: clip ${wrongSize.id} is ${wrongSize.size} px but the stage trains at ${s.size} px; read the clips at ${s.size} px`);
  return usable;
}

export function createGeneratorStage(clips: ClipSet, settings: Partial<GeneratorStageSettings>, deps: GeneratorStageDeps, seed: number): GeneratorStage {
  const s: GeneratorStageSettings = { ...GENERATOR_STAGE_DEFAULTS, ...settings, weights: { ...GENERATOR_STAGE_DEFAULTS.weights, ...settings.weights }, generator: generatorSettingsWith(settings.generator) };
  const usable = checkSettings(clips, s);
  const keypointBatch = s.keypointBatch ?? 0;
  const realFaceShare = s.realFaceShare ?? 0;
  if (!(realFaceShare >= 0 && realFaceShare <= 1)) throw new Error(`generator stage: realFaceShare must be from 0 to 1, got ${s.realFaceShare}`);
  const realFaces = realFaceShare > 0 ? (deps.realFaces ?? []) : [];
  if (realFaceShare > 0 && realFaces.length === 0) throw new Error('generator stage: realFaceShare is above 0 but no real faces were given; build a pool with `blockwise speak faces` and name it in model.generator.realFaces');
  const badFace = realFaces.find((c) => c.size !== s.size || c.landmarks === null);
  if (badFace) throw new Error(`generator stage: real face ${badFace.id} is ${badFace.size} px${badFace.landmarks ? '' : ' without landmarks'}; the stage trains at ${s.size} px on faces with landmarks`);
  if (!Number.isInteger(keypointBatch) || keypointBatch < 0) throw new Error(`generator stage: keypointBatch must be a whole number >= 0, got ${s.keypointBatch}`);
  const byIdentity = new Map<string, SpeakClip[]>();
  for (const c of usable) byIdentity.set(c.identity, [...(byIdentity.get(c.identity) ?? []), c]);
  const mels = new Map<SpeakClip, MelWindows>();
  const melOf = (clip: SpeakClip) => {
    const m = mels.get(clip) ?? melWindows(clip.audio, clip.frameCount, { fps: clip.fps });
    mels.set(clip, m);
    return m;
  };

  const params = new Params('', seed);
  const gParams = params.scope('generator');
  const dParams = params.scope('discriminator');
  const optimizer = tf.train.adam(s.learningRate);
  const discriminatorOptimizer = tf.train.adam(s.discriminatorLearningRate);
  let perceptual: PerceptualNet | undefined = deps.perceptual;
  let built = false;

  /** A target frame of a procedural person and a source frame of the same person (from a neutral clip when asked). */
  const drawPair = (rng: () => number): Sample => {
    const target = usable[randomInt(rng, usable.length)]!;
    const own = byIdentity.get(target.identity)!;
    const neutral = own.filter((c) => c.emotion === 'neutral');
    const sourceClip = s.neutralSource && neutral.length > 0 ? neutral[randomInt(rng, neutral.length)]! : own[randomInt(rng, own.length)]!;
    return { source: { clip: sourceClip, frame: randomInt(rng, sourceClip.frameCount) }, target: { clip: target, frame: randomInt(rng, target.frameCount) } };
  };

  const sampleBatch = (step: number): { samples: Sample[]; teacher: boolean; noiseSeed: number } => {
    const rng = createRng(mixSeed(seed, step, 7));
    const samples: Sample[] = [];
    for (let b = 0; b < s.batchSize; b++) {
      // A real face held still (drawn only when there are real faces: older runs keep their batches).
      if (realFaces.length > 0 && rng() < realFaceShare) {
        const still = { clip: realFaces[randomInt(rng, realFaces.length)]!, frame: 0 };
        const speaker = s.realFaceSpeech ? usable[randomInt(rng, usable.length)]! : null;
        samples.push({ source: still, target: still, ...(speaker ? { speech: { clip: speaker, frame: randomInt(rng, speaker.frameCount) } } : {}) });
        continue;
      }
      samples.push(drawPair(rng));
    }
    return { samples, teacher: rng() < s.teacherForcing, noiseSeed: randomInt(rng, 2 ** 30) };
  };

  const batchOf = (samples: Sample[]): GeneratorBatch =>
    tf.tidy(() => {
      const n = samples.length;
      const px = s.size * s.size * 3;
      const images = (pick: (x: Sample) => { clip: SpeakClip; frame: number }) => {
        const data = new Float32Array(n * px);
        samples.forEach((x, i) => {
          const { clip, frame } = pick(x);
          const rgb = clip.frame(frame);
          for (let j = 0; j < px; j++) data[i * px + j] = rgb[j]! / 255;
        });
        return tf.tensor4d(data, [n, s.size, s.size, 3]);
      };
      const landmarks = (pick: (x: Sample) => { clip: SpeakClip; frame: number }) => {
        const data = new Float32Array(n * 136);
        samples.forEach((x, i) => data.set(pick(x).clip.landmarks![pick(x).frame]!, i * 136));
        return tf.tensor2d(data, [n, 136]);
      };
      const heard = (x: Sample) => x.speech ?? x.target;
      const first = melOf(heard(samples[0]!).clip);
      const win = first.steps * first.mels;
      const mel = new Float32Array(n * win);
      samples.forEach((x, i) => {
        const m = melOf(heard(x).clip);
        mel.set(m.data.subarray(heard(x).frame * win, (heard(x).frame + 1) * win), i * win);
      });
      return {
        ...(samples.some((x) => x.speech) ? { judged: judgedParts(samples, s.size) } : {}),
        source: images((x) => x.source),
        target: images((x) => x.target),
        sourceLandmarks: landmarks((x) => x.source),
        targetLandmarks: landmarks((x) => x.target),
        mel: tf.tensor3d(mel, [n, first.steps, first.mels]),
      };
    });

  // Frozen IRFD codes of single frames (identity, emotion, pose rows), made once: the landmark-only batch's.
  const codeCache = new Map<SpeakClip, Map<number, Float32Array[]>>();
  const codesOf = (frames: { clip: SpeakClip; frame: number }[]): Float32Array[][] => {
    const missing = frames.filter((f, i) => !codeCache.get(f.clip)?.has(f.frame) && frames.findIndex((g) => g.clip === f.clip && g.frame === f.frame) === i);
    for (let from = 0; from < missing.length; from += 16) {
      const chunk = missing.slice(from, from + 16);
      const px = s.size * s.size * 3;
      const data = new Float32Array(chunk.length * px);
      chunk.forEach(({ clip, frame }, i) => {
        const rgb = clip.frame(frame);
        for (let j = 0; j < px; j++) data[i * px + j] = rgb[j]! / 255;
      });
      const rows = tf.tidy(() => {
        const c = deps.encodeFaces(tf.tensor4d(data, [chunk.length, s.size, s.size, 3]));
        return [c.identity, c.emotion, c.pose].map((t) => t.dataSync() as Float32Array);
      });
      const widths = rows.map((r) => r.length / chunk.length);
      chunk.forEach(({ clip, frame }, i) => {
        const perClip = codeCache.get(clip) ?? new Map<number, Float32Array[]>();
        perClip.set(frame, rows.map((r, k) => r.slice(i * widths[k]!, (i + 1) * widths[k]!)));
        codeCache.set(clip, perClip);
      });
    }
    return frames.map((f) => codeCache.get(f.clip)!.get(f.frame)!);
  };

  /** The landmark-only batch of step `step` (its own random stream): codes, mel windows and landmarks. */
  const keypointBatchOf = (stepIndex: number) => {
    const rng = createRng(mixSeed(seed, stepIndex, 11));
    const samples: Sample[] = [];
    for (let b = 0; b < keypointBatch; b++) {
      samples.push(drawPair(rng));
    }
    const sourceCodes = codesOf(samples.map((x) => x.source));
    const targetCodes = codesOf(samples.map((x) => x.target));
    const n = samples.length;
    const stack = (rows: Float32Array[]) => {
      const w = rows[0]!.length;
      const out = new Float32Array(n * w);
      rows.forEach((r, i) => out.set(r, i * w));
      return tf.tensor2d(out, [n, w]);
    };
    const landmarks = (pick: (x: Sample) => { clip: SpeakClip; frame: number }) => stack(samples.map((x) => pick(x).clip.landmarks![pick(x).frame]!));
    const first = melOf(samples[0]!.target.clip);
    const win = first.steps * first.mels;
    const mel = new Float32Array(n * win);
    samples.forEach((x, i) => mel.set(melOf(x.target.clip).data.subarray(x.target.frame * win, (x.target.frame + 1) * win), i * win));
    return {
      identity: stack(sourceCodes.map((c) => c[0]!)),
      emotion: stack(targetCodes.map((c) => c[1]!)),
      pose: stack(targetCodes.map((c) => c[2]!)),
      sourceLandmarks: landmarks((x) => x.source),
      targetLandmarks: landmarks((x) => x.target),
      mel: tf.tensor3d(mel, [n, first.steps, first.mels]),
      noiseSeed: randomInt(rng, 2 ** 30),
    };
  };

  const generatorVariables = () => [...gParams.trainable(), ...(deps.audioVariables?.() ?? [])];
  const discriminatorVariables = () => dParams.trainable();

  const step = async (stepIndex: number): Promise<Record<string, number>> => {
    if (!perceptual && s.weights.perceptual > 0) perceptual = await createPerceptual(s.perceptual);
    const { samples, teacher, noiseSeed } = sampleBatch(stepIndex);
    const batch = batchOf(samples);
    const kp = keypointBatch > 0 ? keypointBatchOf(stepIndex) : null;
    // Frozen IRFD codes: identity from the source, emotion and pose of the target frame.
    const codes = tf.tidy(() => {
      const src = deps.encodeFaces(batch.source);
      const tgt = deps.encodeFaces(batch.target);
      return { identity: src.identity, emotion: tgt.emotion, pose: tgt.pose };
    });
    const forward = () => {
      const out = generateFrame(
        gParams,
        {
          source: batch.source,
          sourceLandmarks: batch.sourceLandmarks,
          identity: codes.identity,
          emotion: codes.emotion,
          pose: codes.pose,
          audio: deps.encodeAudio(batch.mel),
          noiseSeed,
          drivingLandmarks: teacher ? batch.targetLandmarks : undefined,
        },
        s.generator,
      );
      return out;
    };
    if (!built) {
      // Variables are made on first use; minimize needs them listed beforehand (a stable, sorted order for Adam's slots).
      tf.tidy(() => {
        const out = forward();
        discriminate(dParams, batch.source, out.frame, s.discriminator);
      });
      built = true;
    }
    const values: Record<string, tf.Scalar> = {};
    let fake: tf.Tensor4D | undefined;
    const total = optimizer.minimize(
      () => {
        const out = forward();
        const w = s.weights;
        const truth = normaliseLandmarks(batch.targetLandmarks, s.size);
        // What the image losses see: a speaking real face's own mouth region is not judged.
        const judged = batch.judged;
        const seen = judged ? (tf.add(tf.mul(out.frame, judged.pixels), tf.mul(batch.target, tf.sub(1, judged.pixels))) as tf.Tensor4D) : out.frame;
        // The landmark-only batch through the audio/code path alone (no images).
        const kpOut = kp
          ? { predicted: drivingLandmarks(gParams, { ...kp, audio: deps.encodeAudio(kp.mel) }, s.size, s.generator).landmarks, truth: normaliseLandmarks(kp.targetLandmarks, s.size) }
          : null;
        const terms: [string, number, () => tf.Scalar][] = [
          ['pixel', w.pixel, () => tf.mean(tf.abs(tf.sub(seen, batch.target))) as tf.Scalar],
          ['keypoints', w.keypoints, () => keypointLoss(out.landmarks, truth, judged?.landmarks)],
          ['gan', w.gan, () => generatorGanLoss(discriminate(dParams, batch.source, seen, s.discriminator))],
          ['perceptual', w.perceptual, () => perceptual!.loss(batch.target, seen)],
        ];
        if (kpOut) terms.push(['landmarks', w.keypoints, () => keypointLoss(kpOut.predicted, kpOut.truth)]);
        if (w.mouth) {
          const predicted = (kpOut ? tf.concat([out.landmarks, kpOut.predicted]) : out.landmarks) as tf.Tensor2D;
          const wanted = (kpOut ? tf.concat([truth, kpOut.truth]) : truth) as tf.Tensor2D;
          // Rows with a mouth truth: all but the speaking real faces'.
          const rows = judged ? (kpOut ? tf.concat([judged.rows, tf.ones([kpOut.truth.shape[0]])]) : judged.rows) : undefined;
          terms.push(['mouth', w.mouth, () => tf.add(
            keypointLoss(speechPoints(predicted), speechPoints(wanted), rows && tf.reshape(rows, [-1, 1, 1])),
            tf.mul(keypointLoss(lipGaps(predicted), lipGaps(wanted), rows && tf.reshape(rows, [-1, 1])), 10),
          ) as tf.Scalar]);
        }
        if (deps.syncLoss) terms.push(['sync', w.sync, () => deps.syncLoss!(batch.target, seen)]);
        let total = tf.scalar(0);
        for (const [name, weight, loss] of terms) {
          if (weight === 0) continue;
          const value = loss();
          values[name] = tf.keep(value);
          total = tf.add(total, tf.mul(value, weight));
        }
        fake = tf.keep(seen);
        return total as tf.Scalar;
      },
      true,
      generatorVariables(),
    );
    values.total = total!;
    const result: Record<string, number> = {};
    for (const [name, t] of Object.entries(values)) result[name] = (await t.data())[0]!;
    result.discriminator = await trainDiscriminator(batch, fake!);
    if (kp) tf.dispose([kp.identity, kp.emotion, kp.pose, kp.sourceLandmarks, kp.targetLandmarks, kp.mel]);
    tf.dispose([...Object.values(values), fake!, batch.source, batch.target, batch.sourceLandmarks, batch.targetLandmarks, batch.mel, codes.identity, codes.emotion, codes.pose]);
    if (batch.judged) tf.dispose([batch.judged.pixels, batch.judged.landmarks, batch.judged.rows]);
    return result;
  };

  /** One LSGAN step of the discriminator alone (real: the batch's targets; fake: frames the generator made, no gradient to it). */
  const trainDiscriminator = async (batch: GeneratorBatch, fake: tf.Tensor4D): Promise<number> => {
    const dLoss = discriminatorOptimizer.minimize(
      () => discriminatorLoss(discriminate(dParams, batch.source, batch.target, s.discriminator), discriminate(dParams, batch.source, fake, s.discriminator)),
      true,
      discriminatorVariables(),
    )!;
    const value = (await dLoss.data())[0]!;
    dLoss.dispose();
    return value;
  };

  return {
    name: 'generator',
    params,
    optimizer,
    discriminatorOptimizer,
    generatorVariables,
    discriminatorVariables,
    sampleBatch: (stepIndex: number) => batchOf(sampleBatch(stepIndex).samples),
    trainDiscriminator,
    settings: s,
    step,
    dispose() {
      discriminatorOptimizer.dispose();
      if (perceptual !== deps.perceptual) perceptual?.dispose(); // an injected one belongs to the caller
    },
  };
}

/**
 * L_kp: mean squared error over the (x, y) coordinates, times 2 (the squared distance per point),
 * normalised units; with `weights` (broadcast over the error) the weighted mean over what they keep.
 */
function keypointLoss(predicted: tf.Tensor, truth: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  const squared = tf.square(tf.sub(predicted, truth));
  if (!weights) return tf.mul(tf.mean(squared), 2) as tf.Scalar;
  const w = tf.mul(tf.onesLike(squared), weights);
  return tf.div(tf.mul(tf.sum(tf.mul(squared, w)), 2), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
}

/**
 * The per-pixel, per-coordinate and per-row weights of a batch holding speaking real faces
 * (Sample.speech): their mouth region, the coordinates of the points the speech moves and their
 * mouth-term row are 0; everything of the other samples is 1.
 */
function judgedParts(samples: Sample[], size: number): NonNullable<GeneratorBatch['judged']> {
  const n = samples.length;
  const pixels = new Float32Array(n * size * size).fill(1);
  const landmarks = new Float32Array(n * 136).fill(1);
  const rows = new Float32Array(n).fill(1);
  samples.forEach((x, i) => {
    if (!x.speech) return;
    pixels.set(outsideMouthMask(x.target.clip.landmarks![x.target.frame]!, size), i * size * size);
    for (const point of SPEECH_POINTS) landmarks[i * 136 + 2 * point] = landmarks[i * 136 + 2 * point + 1] = 0;
    rows[i] = 0;
  });
  return { pixels: tf.tensor4d(pixels, [n, size, size, 1]), landmarks: tf.tensor2d(landmarks, [n, 136]), rows: tf.tensor1d(rows) };
}

/**
 * The mouth's shape: the jaw and lip points of landmarks [N, 136] less their own centre ->
 * [N, speech points, 2]. Centred, so the head's motion (pose) is not in the term and what is left
 * is what the speech moves. A product with a 0/1 matrix: wasm has no gather gradient.
 */
function speechPoints(landmarks: tf.Tensor2D): tf.Tensor3D {
  const k = SPEECH_POINTS.length;
  const pick = new Float32Array(136 * k * 2);
  SPEECH_POINTS.forEach((point, i) => {
    pick[2 * point * k * 2 + 2 * i] = 1;
    pick[(2 * point + 1) * k * 2 + 2 * i + 1] = 1;
  });
  const points = tf.reshape(tf.matMul(landmarks, tf.tensor2d(pick, [136, k * 2])), [landmarks.shape[0], k, 2]);
  return tf.sub(points, tf.mean(points, 1, true)) as tf.Tensor3D;
}

/**
 * The inner lips' vertical gaps [N, 3] (lower minus upper y of points 61/67, 62/66, 63/65),
 * normalised units: the lip opening itself, linear in the landmarks so its error has a gradient
 * even at a closed mouth. Weighted x10 inside the mouth term: it is the few pixels the speech moves most.
 */
function lipGaps(landmarks: tf.Tensor2D): tf.Tensor2D {
  const pairs = [[61, 67], [62, 66], [63, 65]] as const;
  const m = new Float32Array(136 * pairs.length);
  pairs.forEach(([upper, lower], j) => {
    m[(2 * lower + 1) * pairs.length + j] = 1;
    m[(2 * upper + 1) * pairs.length + j] = -1;
  });
  return tf.matMul(landmarks, tf.tensor2d(m, [136, pairs.length]));
}
