/**
 * `blockwise speak eval`: one trained model measured like the paper and beyond it.
 *
 * Held-out procedural people (never trained on), self-driven as the paper's protocol: the
 * identity image is the person's neutral frame, the clip's own speech, emotion and per-frame pose
 * drive the model, and every generated frame is compared with the renderer's ground truth (SSIM,
 * PSNR, F-LMD and M-LMD through the corpus landmark regressor on both, so its bias cancels as a
 * detector's does in the paper), SyncNet confidence against another clip's audio, and the corpus
 * emotion classifier and pose regressor on the generated frames against what was asked.
 * Real photos: the real descriptor, expression net and face mesh on frames generated from them,
 * and the mouth's opening against the speech's loudness. Speed: one preview frame and frames per
 * second of a whole clip.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EMOTIONS, type Emotion } from '../corpus/emotions';
import type { PcmAudio } from '../audio/wav';
import { frameRms, loudnessFromRms, VIDEO_FPS } from '../audio/loudness';
import type { ClipSet, SpeakClip } from '../data/clip';
import { proceduralClips } from '../data/procedural-clips';
import { identityFromPhoto } from '../data/photo-source';
import { detectFaces } from '../instruments/detect-faces';
import { EXPRESSION_FOR_EMOTION, topExpression } from '../instruments/expressions';
import { FaceMeshMeter } from '../instruments/head-pose';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../instruments/identity';
import { resizeImage } from '../instruments/image-warp';
import { clipSyncConfidence, type SyncNetSettings } from '../model/syncnet';
import { Params } from '../model/nn';
import { generateClip, loadSpeakModel, prepareFace, previewFrame, type FaceSource, type MotionMode, type PreparedFace, type SpeakModel } from '../speak-model';

/** A face made ready to drive, in the evaluation's motion mode. */
type Prepare = (face: FaceSource) => PreparedFace;
import { loadSpeakModelInto } from '../train/speak-checkpoint';
import { createInstrument, loadInstrument, predictEmotions, predictLandmarks, predictPoses, saveInstrument, trainInstrument, type CorpusInstrument, type InstrumentKind } from './corpus-classifiers';
import { frameSetFromClips, pixelsFromBytes } from './frame-set';
import { pearson, sequenceQuality } from './frame-quality';
import { sequenceLmd } from './landmark-distance';
import { emptyRow, type PoseError, type SpeakEvalRow } from './eval-table';
import type { HeadPoseDegrees, PoseKey } from '../../../shared/speak/performance';

export interface EvaluateOptions {
  label?: string;
  /** Held-out procedural people: `count` people from index `first` of seed `seed`'s population. */
  heldOut?: { count: number; first: number; seed: number; maxFrames: number };
  /** Real photos (at least 5 for the measure); the largest face of each is used. */
  photos?: string[];
  /** Where the corpus instruments are kept (trained there on first use). */
  instrumentsDir: string;
  /** Training of missing instruments: people, steps. */
  instrumentTraining?: { identities: number; steps: number; seed: number };
  /** The model whose SyncNet measures sync (the full model's, so ablations are measured by one instrument) [this model]. */
  syncnetFrom?: string;
  /** Frames generated per photo for the identity, mesh and mouth measures. */
  photoFrames?: number;
  /** How faces are driven (speak-model.ts MotionMode) [absolute]. */
  motion?: MotionMode;
  onProgress?: (message: string) => void;
}

export const DEFAULT_HELD_OUT = { count: 4, first: 1000, seed: 0, maxFrames: 50 };

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);


/** The corpus instruments at `dir`, trained on procedural people (not the held-out ones) when missing. */
async function instruments(size: number, options: EvaluateOptions): Promise<Record<InstrumentKind, CorpusInstrument>> {
  // 80 people, 4 frames each, 3000 steps: what bench/speak-eval-instruments.ts measured the emotion judge to need (0.64 held out; 0.35 at 24 people).
  const { identities, steps, seed } = options.instrumentTraining ?? { identities: 80, steps: 3000, seed: 11 };
  const out = {} as Record<InstrumentKind, CorpusInstrument>;
  let training: ReturnType<typeof frameSetFromClips> | undefined;
  for (const kind of ['emotion', 'pose', 'landmarks'] as const) {
    const file = path.join(options.instrumentsDir, `${kind}-${size}`);
    if (fs.existsSync(`${file}.json`)) {
      out[kind] = loadInstrument(file, kind);
      continue;
    }
    options.onProgress?.(`training the corpus ${kind} instrument (${identities} people, ${steps} steps) into ${options.instrumentsDir}`);
    training ??= frameSetFromClips(proceduralClips({ count: identities, seed, size, maxFrames: 50 }), 4);
    const inst = createInstrument(kind, { inputSize: size, seed });
    await trainInstrument(inst, training, steps);
    fs.mkdirSync(options.instrumentsDir, { recursive: true });
    await saveInstrument(inst, file);
    out[kind] = inst;
  }
  return out;
}

/** A generated clip seen as a SpeakClip (for SyncNet), with the speech it should follow. */
function asClip(id: string, frames: Uint8Array[], size: number, audio: PcmAudio, like: SpeakClip): SpeakClip {
  return { ...like, id, size, frameCount: frames.length, fps: VIDEO_FPS, frame: (i) => frames[i]!, landmarks: null, poses: null, audio };
}

const poseKeys = (clip: SpeakClip): PoseKey[] => (clip.poses ?? []).map((p, i) => ({ t: i / clip.fps, ...p, ease: false }));

/** How well the corpus judges read the held-out people's true frames: the ceiling of what they can say about generated ones. */
export interface JudgeCeiling {
  emotionAccuracy: number;
  poseError: PoseError;
  /**
   * The mouth's opening on the generated frames (read by the landmark judge) against the
   * loudness of the clip's own speech, and against another clip's speech (the control): the
   * audio drives the mouth when the first is clearly above the second.
   */
  mouthLoudness: { own: number; shuffled: number };
}

async function heldOutMeasures(model: SpeakModel, prepare: Prepare, set: ClipSet, inst: Record<InstrumentKind, CorpusInstrument>, sync: { params: Params; settings: Partial<SyncNetSettings> } | null, row: SpeakEvalRow, progress?: (m: string) => void): Promise<JudgeCeiling> {
  const size = model.size;
  const ssims: number[] = [], psnrs: number[] = [], fLmds: number[] = [], mLmds: number[] = [], confs: number[] = [], shuffled: number[] = [];
  let emotionHits = 0, emotionCount = 0, truthHits = 0;
  const mouthOwn: number[] = [], mouthShuffled: number[] = [];
  const poseErr = { yaw: [] as number[], pitch: [] as number[], roll: [] as number[] };
  const truthPoseErr = { yaw: [] as number[], pitch: [] as number[], roll: [] as number[] };
  const addPoseError = (into: typeof poseErr, p: { yaw: number; pitch: number; roll: number }, want: { yaw: number; pitch: number; roll: number }) => {
    into.yaw.push(Math.abs(p.yaw - want.yaw));
    into.pitch.push(Math.abs(p.pitch - want.pitch));
    into.roll.push(Math.abs(p.roll - want.roll));
  };
  for (const [k, clip] of set.clips.entries()) {
    const neutral = set.clips.find((c) => c.identity === clip.identity && c.emotion === 'neutral') ?? clip;
    const face = prepare({ rgb: neutral.frame(0), size, landmarks: neutral.landmarks![0]! });
    const weights: Partial<Record<Emotion, number>> = { [clip.emotion]: 1 };
    const generated = await generateClip(model, face, clip.audio, { emotion: { weights, intensity: clip.intensity }, pose: poseKeys(clip), noiseSeed: 1 });
    face.dispose();
    const n = Math.min(generated.frames.length, clip.frameCount);
    const frames = generated.frames.slice(0, n);
    const truth = Array.from({ length: n }, (_, i) => clip.frame(i));
    const quality = sequenceQuality(frames, truth, size);
    ssims.push(quality.ssim);
    psnrs.push(quality.psnr);
    const generatedPoints = await predictLandmarks(inst.landmarks, pixelsFromBytes(frames, size), size);
    const lmd = sequenceLmd(generatedPoints, await predictLandmarks(inst.landmarks, pixelsFromBytes(truth, size), size));
    const opening = generatedPoints.map((p) => mouthOpening(Array.from({ length: 68 }, (_, i) => [p[2 * i]!, p[2 * i + 1]!] as [number, number])));
    const otherClip = set.clips.find((c) => c.identity !== clip.identity) ?? set.clips[(k + 1) % set.clips.length]!;
    const loud = (audio: PcmAudio) => Array.from(frameRms(audio), loudnessFromRms);
    const own = loud(clip.audio), other = loud(otherClip.audio);
    const m = Math.min(opening.length, own.length, other.length);
    const r = m > 2 ? [pearson(opening.slice(0, m), own.slice(0, m)), pearson(opening.slice(0, m), other.slice(0, m))] : [];
    // A mouth that never moves has no correlation (NaN): left out of both means.
    if (r.length && r.every(Number.isFinite)) {
      mouthOwn.push(r[0]!);
      mouthShuffled.push(r[1]!);
    }
    fLmds.push(lmd.fLmd);
    mLmds.push(lmd.mLmd);
    const predicted = await predictEmotions(inst.emotion, pixelsFromBytes(frames, size), size);
    emotionHits += predicted.emotions.filter((e) => e === clip.emotion).length;
    truthHits += (await predictEmotions(inst.emotion, pixelsFromBytes(truth, size), size)).emotions.filter((e) => e === clip.emotion).length;
    emotionCount += n;
    (await predictPoses(inst.pose, pixelsFromBytes(frames, size), size)).forEach((p, i) => addPoseError(poseErr, p, clip.poses![i]!));
    (await predictPoses(inst.pose, pixelsFromBytes(truth, size), size)).forEach((p, i) => addPoseError(truthPoseErr, p, clip.poses![i]!));
    if (sync && n > 1) {
      const generatedClip = asClip(`${clip.id}/generated`, frames, size, clip.audio, clip);
      confs.push(clipSyncConfidence(sync.params, generatedClip, sync.settings).confidence);
      // The control: the same frames heard against another person's clip (a different sentence).
      shuffled.push(clipSyncConfidence(sync.params, generatedClip, sync.settings, otherClip.audio).confidence);
    }
    progress?.(`held-out clip ${k + 1}/${set.clips.length} (${clip.id}): SSIM ${quality.ssim.toFixed(3)}, PSNR ${quality.psnr.toFixed(1)} dB`);
  }
  Object.assign(row, {
    size,
    ssim: mean(ssims),
    psnr: mean(psnrs),
    fLmd: mean(fLmds),
    mLmd: mean(mLmds),
    syncConf: confs.length ? mean(confs) : null,
    syncConfShuffled: shuffled.length ? mean(shuffled) : null,
    emotionAccuracy: emotionCount ? emotionHits / emotionCount : null,
    poseError: { yaw: mean(poseErr.yaw), pitch: mean(poseErr.pitch), roll: mean(poseErr.roll) } satisfies PoseError,
  });
  return {
    emotionAccuracy: emotionCount ? truthHits / emotionCount : NaN,
    poseError: { yaw: mean(truthPoseErr.yaw), pitch: mean(truthPoseErr.pitch), roll: mean(truthPoseErr.roll) },
    mouthLoudness: { own: mean(mouthOwn), shuffled: mean(mouthShuffled) },
  };
}

/** Inner-lip opening over the mouth width, from 68 landmarks (points 62 / 66 and 60 / 64). */
function mouthOpening(points: readonly [number, number][]): number {
  const gap = Math.hypot(points[66]![0] - points[62]![0], points[66]![1] - points[62]![1]);
  const width = Math.hypot(points[64]![0] - points[60]![0], points[64]![1] - points[60]![1]);
  return width > 0 ? gap / width : 0;
}

const upscale = (rgb: Uint8Array, size: number) => resizeImage({ width: size, height: size, data: rgb }, 256, 256);

async function photoMeasures(model: SpeakModel, prepare: Prepare, photos: string[], speech: PcmAudio, frameCount: number, row: SpeakEvalRow, progress?: (m: string) => void): Promise<void> {
  let same = 0, measured = 0;
  const perClass: Record<string, number> = {};
  let agreeing = 0, asked = 0;
  const meshErr = { yaw: [] as number[], pitch: [] as number[], roll: [] as number[] };
  const correlations: number[] = [];
  const meter = await FaceMeshMeter.start({ maxFaces: 1 });
  try {
    const seconds = Math.min(speech.samples.length / speech.sampleRate, frameCount / VIDEO_FPS);
    const audio = { sampleRate: speech.sampleRate, samples: speech.samples.subarray(0, Math.floor(seconds * speech.sampleRate)) };
    const loudness = Array.from(frameRms(audio), loudnessFromRms);
    for (const [k, photo] of photos.entries()) {
      const who = await identityFromPhoto(photo, { size: model.size, chooseLargest: true });
      const face = prepare({ rgb: who.crop.data, size: model.size, landmarks: who.landmarks });
      // Identity and mouth: a neutral clip of the speech, head still.
      const clip = await generateClip(model, face, audio, { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 1 });
      const openings: number[] = [];
      const heard: number[] = [];
      for (const [i, frame] of clip.frames.entries()) {
        const [found] = await detectFaces(upscale(frame, model.size), { descriptor: true });
        measured++;
        if (!found?.descriptor) continue;
        if (descriptorDistance(found.descriptor, who.descriptor) < SAME_PERSON_DISTANCE) same++;
        openings.push(mouthOpening(found.landmarks));
        heard.push(loudness[i] ?? 0);
      }
      const r = openings.length > 2 ? pearson(openings, heard) : NaN;
      if (Number.isFinite(r)) correlations.push(r);
      // Emotions at intensity 1 through the real expression net (face-api knows 7 of the 8).
      for (const emotion of EMOTIONS) {
        const expected = EXPRESSION_FOR_EMOTION[emotion];
        if (!expected) continue;
        const frame = previewFrame(model, face, { emotion: { weights: { [emotion]: 1 }, intensity: 1 }, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 1 });
        const [found] = await detectFaces(upscale(frame, model.size), { expressions: true });
        asked++;
        const hit = found?.expressions ? topExpression(found.expressions).expression === expected : false;
        if (hit) agreeing++;
        perClass[emotion] = (perClass[emotion] ?? 0) + (hit ? 1 / photos.length : 0);
      }
      // Pose through the real face mesh, within +-25 degrees.
      const asks: HeadPoseDegrees[] = [{ yaw: -20, pitch: 0, roll: 0 }, { yaw: 20, pitch: 0, roll: 0 }, { yaw: 0, pitch: 12, roll: 0 }, { yaw: 0, pitch: -12, roll: 0 }, { yaw: 0, pitch: 0, roll: 10 }];
      for (const pose of asks) {
        const frame = previewFrame(model, face, { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose, noiseSeed: 1 });
        const seen = await meter.headPose(upscale(frame, model.size));
        if (!seen) continue;
        meshErr.yaw.push(Math.abs(seen.yaw - pose.yaw));
        meshErr.pitch.push(Math.abs(seen.pitch - pose.pitch));
        meshErr.roll.push(Math.abs(seen.roll - pose.roll));
      }
      face.dispose();
      progress?.(`photo ${k + 1}/${photos.length} (${path.basename(photo)}): same person on ${same}/${measured} frames so far`);
    }
  } finally {
    await meter.close();
  }
  Object.assign(row, {
    identitySameRate: measured ? same / measured : null,
    expressionAgreement: asked ? agreeing / asked : null,
    expressionAgreementPerClass: perClass,
    meshPoseError: meshErr.yaw.length ? { yaw: mean(meshErr.yaw), pitch: mean(meshErr.pitch), roll: mean(meshErr.roll) } : null,
    mouthAudioCorrelation: correlations.length ? mean(correlations) : null,
  });
}

async function speed(model: SpeakModel, prepare: Prepare, clip: SpeakClip, row: SpeakEvalRow): Promise<void> {
  const face = prepare({ rgb: clip.frame(0), size: model.size, landmarks: clip.landmarks![0]! });
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    previewFrame(model, face, { emotion: { weights: { happy: 1 }, intensity: 0.8 }, pose: { yaw: i * 3, pitch: 0, roll: 0 }, noiseSeed: 1 });
    times.push(performance.now() - t);
  }
  const t = performance.now();
  const out = await generateClip(model, face, clip.audio, { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 1 });
  face.dispose();
  row.previewMs = times.sort((a, b) => a - b)[times.length >> 1]!;
  row.fps = out.frames.length / ((performance.now() - t) / 1000);
}

/** The model's evaluation row (held-out people, real photos, speed) and how well the judges read the true frames. */
export async function evaluateModel(modelDir: string, options: EvaluateOptions): Promise<{ row: SpeakEvalRow; judges: JudgeCeiling }> {
  const model = loadSpeakModel(modelDir);
  const row = emptyRow(options.label ?? `ours (${model.size} px)`);
  const syncParams = new Params('syncnet');
  try {
    const held = options.heldOut ?? DEFAULT_HELD_OUT;
    const set = proceduralClips({ first: held.first, count: held.count, seed: held.seed, size: model.size, maxFrames: held.maxFrames });
    const inst = await instruments(model.size, options);
    const syncDir = options.syncnetFrom ?? modelDir;
    const syncManifest = loadSpeakModelInto(syncParams, syncDir, 'syncnet');
    const hasSync = syncManifest.stages.some((s) => s.name === 'syncnet' && s.variables.length > 0);
    const syncSettings = ((syncManifest.settings as { model?: { syncnet?: unknown } }).model?.syncnet ?? {}) as Partial<SyncNetSettings>;
    const prepare: Prepare = (face) => prepareFace(model, face, options.motion);
    const judges = await heldOutMeasures(model, prepare, set, inst, hasSync ? { params: syncParams, settings: syncSettings } : null, row, options.onProgress);
    if (options.photos?.length) await photoMeasures(model, prepare, options.photos, set.clips[0]!.audio, options.photoFrames ?? 25, row, options.onProgress);
    await speed(model, prepare, set.clips[0]!, row);
    return { row, judges };
  } finally {
    syncParams.dispose();
    model.dispose();
  }
}
