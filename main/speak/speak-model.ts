/**
 * The talking-head inference API: a trained model folder (model.json + model.bin, written by the
 * `talking-head` job) turns an identity image with its 68 landmarks, speech and a performance
 * (emotion mix, pose constant or keyframed) into frames at 25 fps, or one preview frame.
 *
 * The codes come the way the editor's sliders give them: f_I from IRFD's identity encoder on the
 * identity image, f_E and f_P from the code mappers trained in the IRFD stage (emotion weights and
 * intensity, yaw/pitch/roll in degrees), f_a from the audio encoder on the speech's mel windows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { emotionAt, poseAt, type EmotionMix, type HeadPoseDegrees, type Performance } from '../../shared/speak/performance';
import { talkingHeadSettings, type TalkingHeadSettings } from '../../shared/speak/settings';
import { melWindows, type MelWindows } from './audio/mel';
import { VIDEO_FPS } from './audio/loudness';
import type { PcmAudio } from './audio/wav';
import { EMOTIONS } from './corpus/emotions';
import { audioEncoder, type AudioEncoderSettings } from './model/audio-encoder';
import { checkPose, emotionToCode, emotionWeights, poseToCode } from './model/code-mappers';
import { drivingLandmarks, generateFrame, generatorSettingsWith, type GeneratorSettings } from './model/generator';
import { encodeFaces, irfdArchitecture, type IrfdArchitecture } from './model/irfd';
import { fitHeadPose, type HeadFit } from './model/rigid-pose';
import { headTurnMap, sampleFrame } from './model/head-turn';
import { blinkSchedule, paintBlink, whereWarpTook } from './model/blink';
import { Params } from './model/nn';
import { loadSpeakModelInto, type SpeakModelManifest } from './train/speak-checkpoint';
import { generatorSettingsOf } from './train/stage-builders';

export interface SpeakModel {
  dir: string;
  settings: TalkingHeadSettings;
  /** Frame side the model generates, pixels. */
  size: number;
  irfd: Params;
  arch: IrfdArchitecture;
  /** The generator stage's store: `generator.*` and the audio encoder's `audio.*`. */
  generator: Params;
  generatorSettings: GeneratorSettings;
  audioSettings: Partial<AudioEncoderSettings>;
  manifest: SpeakModelManifest;
  dispose(): void;
}

/** Load a trained model folder; throws saying what is wrong with it (not a model, damaged, untrained stage). */
export function loadSpeakModel(dir: string): SpeakModel {
  const irfd = new Params('irfd');
  const generator = new Params('');
  try {
    const manifest = loadSpeakModelInto(irfd, dir, 'irfd');
    loadSpeakModelInto(generator, dir, 'generator');
    const parsed = talkingHeadSettings.safeParse(manifest.settings);
    if (!parsed.success) throw new Error(`${dir}/model.json holds settings this version cannot read (${parsed.error.issues[0]?.message ?? 'invalid'}): train the model again with this version`);
    const settings = parsed.data;
    for (const stage of ['irfd', 'generator'] as const) {
      if (!manifest.stages.some((s) => s.name === stage && s.variables.length > 0)) throw new Error(`${dir} has no trained ${stage} stage: a talking-head model needs both the IRFD and the generator stages (train with steps.${stage} above 0)`);
    }
    const { own, audioSettings } = generatorSettingsOf(settings);
    const generatorSettings = generatorSettingsWith(own.generator);
    const arch = irfdArchitecture(irfd);
    return {
      dir,
      settings,
      size: settings.size,
      irfd,
      arch,
      generator,
      generatorSettings,
      audioSettings,
      manifest,
      dispose: () => {
        irfd.dispose();
        generator.dispose();
      },
    };
  } catch (error) {
    irfd.dispose();
    generator.dispose();
    throw error;
  }
}

/** The identity image the model moves: a square crop at the model's size and its 68 landmarks in that crop's pixels. */
export interface FaceSource {
  rgb: Uint8Array;
  size: number;
  landmarks: Float32Array;
}

/** A face ready to drive: its image and landmarks as tensors and its identity code (kept until dispose). */
export interface PreparedFace {
  image: tf.Tensor4D;
  landmarks: tf.Tensor2D;
  identity: tf.Tensor2D;
  /** The motion head's landmarks for the face under its own codes and silence (relative motion), or null. */
  rest: tf.Tensor2D | null;
  /** Posed motion: the face's own pose code (IRFD's) the model renders at, and that rendering's head fitted to the mean 3D face; else null. */
  posed: { poseCode: tf.Tensor2D; fit: HeadFit } | null;
  dispose(): void;
}

/**
 * How the face is driven: 'absolute' warps to the landmarks the motion head predicts outright for
 * the requested codes (learned on procedural faces); 'relative' moves the face's own landmarks by
 * the change the requested codes and speech make from the face's own codes in silence, so a photo
 * keeps its own geometry; 'posed' renders as 'absolute' at the face's OWN pose code, then turns the
 * frame to the requested pose by geometry (./model/head-turn.ts), from the pose the motion head
 * gives the face (its landmarks fitted to the mean 3D face). Why posed: the learned warp renders
 * about 40% of an asked turn, geometry all of it (README, the SPEAK model section).
 */
export type MotionMode = 'posed' | 'relative' | 'absolute';

export function prepareFace(model: SpeakModel, face: FaceSource, motion: MotionMode = 'absolute'): PreparedFace {
  if (face.size !== model.size) throw new Error(`The face is ${face.size} px but this model generates ${model.size} px faces: crop the face at ${model.size} px`);
  if (face.rgb.length !== face.size * face.size * 3) throw new Error(`The face image has ${face.rgb.length} bytes, not ${face.size} x ${face.size} RGB`);
  if (face.landmarks.length !== 136 || face.landmarks.some((v) => !Number.isFinite(v))) throw new Error('The face needs its 68 landmarks (136 finite numbers, pixels of the crop)');
  const image = tf.tidy(() => tf.div(tf.tensor4d(face.rgb, [1, face.size, face.size, 3], 'float32'), 255) as tf.Tensor4D);
  const landmarks = tf.tensor2d(face.landmarks, [1, 136]);
  // In a tidy: the encoders' intermediate maps (about 100 tensors) are not kept.
  const [identity, ownEmotion, ownPose] = tf.tidy(() => {
    const codes = encodeFaces(model.irfd, image, model.arch);
    return [codes.identity, codes.emotion, codes.pose];
  }) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  // The motion head's landmarks for the face under its own codes in silence.
  const restOf = (emotion: () => tf.Tensor2D) => tf.tidy(() => {
    const silence = speechWindows(null, 1);
    const audio = audioEncoder(model.generator.scope('audio'), tf.tensor3d(silence.data, [1, silence.steps, silence.mels]), model.audioSettings);
    const inputs = { sourceLandmarks: landmarks, identity, emotion: emotion(), pose: ownPose, audio, noiseSeed: null };
    return drivingLandmarks(model.generator.scope('generator'), inputs, model.size, model.generatorSettings).landmarks;
  });
  const rest = motion === 'relative' ? restOf(() => ownEmotion) : null;
  let posed: PreparedFace['posed'] = null;
  if (motion === 'posed') {
    // IRFD's own pose code of the face, not the slider mapper's code for its fitted pose: measured,
    // the mapper's kept real photos the same person on 58.7% of frames against 78.0%.
    const still = restOf(() => neutralEmotion(model));
    const pixels = Float32Array.from(still.dataSync(), (v) => ((v + 1) * model.size) / 2);
    still.dispose();
    posed = { poseCode: ownPose, fit: fitHeadPose(pixels, model.size) };
  }
  tf.dispose(posed ? [ownEmotion] : [ownEmotion, ownPose]);
  return {
    image,
    landmarks,
    identity,
    rest,
    posed,
    dispose: () => tf.dispose([image, landmarks, identity, ...(rest ? [rest] : []), ...(posed ? [posed.poseCode] : [])]),
  };
}

/** The emotion code of a neutral face (intensity 0), one row. */
function neutralEmotion(model: SpeakModel): tf.Tensor2D {
  return tf.tidy(() => emotionToCode(model.irfd, tf.tensor2d(emotionWeights({ neutral: 1 }), [1, EMOTIONS.length]), tf.tensor1d([0]), model.arch.emotionDim));
}

/** Mel windows of speech for `frames` video frames; silence when no audio is given (a still preview). */
function speechWindows(audio: PcmAudio | null, frames: number): MelWindows {
  const silent: PcmAudio = { sampleRate: 16000, samples: new Float32Array(Math.ceil((16000 * frames) / VIDEO_FPS)) };
  return melWindows(audio ?? silent, frames, { fps: VIDEO_FPS });
}

// The editor asks for a preview at every slider move: the speech's windows are computed once per audio.
const previewWindows = new WeakMap<PcmAudio, MelWindows>();

function checkEmotion(emotion: EmotionMix): Float32Array {
  if (!Number.isFinite(emotion.intensity) || emotion.intensity < 0 || emotion.intensity > 1) throw new Error(`Emotion intensity must be between 0 and 1, got ${String(emotion.intensity)}`);
  return emotionWeights(emotion.weights);
}

/**
 * Frames for rows [from, from + count) of the speech windows, each with its own pose, emotion
 * and eye closure. Returns RGB bytes per frame.
 */
function renderRows(model: SpeakModel, face: PreparedFace, windows: MelWindows, from: number, poses: HeadPoseDegrees[], emotions: EmotionMix[], noiseSeed: number, closures: readonly number[] = []): Uint8Array[] {
  const n = poses.length;
  const weights = emotions.map(checkEmotion);
  const [pixels, flowTensor] = tf.tidy((): tf.Tensor[] => {
    const win = windows.steps * windows.mels;
    const mel = tf.tensor3d(windows.data.subarray(from * win, (from + n) * win), [n, windows.steps, windows.mels]);
    const generator = model.generator.scope('generator');
    const inputs = {
      source: tf.tile(face.image, [n, 1, 1, 1]) as tf.Tensor4D,
      sourceLandmarks: tf.tile(face.landmarks, [n, 1]) as tf.Tensor2D,
      identity: tf.tile(face.identity, [n, 1]) as tf.Tensor2D,
      emotion: emotionToCode(model.irfd, tf.tensor2d(weights.flatMap((w) => Array.from(w)), [n, EMOTIONS.length]), tf.tensor1d(emotions.map((e) => e.intensity)), model.arch.emotionDim),
      // Posed motion renders the face at its own pose and turns it by geometry afterwards.
      pose: face.posed ? (tf.tile(face.posed.poseCode, [n, 1]) as tf.Tensor2D) : poseToCode(model.irfd, tf.tensor2d(poses.flatMap((p) => [p.yaw, p.pitch, p.roll]), [n, 3]), model.arch.poseDim),
      audio: audioEncoder(model.generator.scope('audio'), mel, model.audioSettings),
      noiseSeed,
    };
    const out = generateFrame(
      generator,
      {
        ...inputs,
        ...(face.rest ? { restLandmarks: tf.tile(face.rest, [n, 1]) as tf.Tensor2D } : {}),
      },
      model.generatorSettings,
    );
    const bytes = tf.cast(tf.round(tf.mul(tf.clipByValue(out.frame, 0, 1), 255)), 'int32');
    // Blinking rows need where the warp took the eyes: the flow at the frame's size.
    const flow = closures.some((c) => c > 0) ? tf.image.resizeBilinear(out.motion.flow, [model.size, model.size]) : null;
    return flow ? [bytes, flow] : [bytes];
  });
  const data = pixels!.dataSync();
  const flow = flowTensor?.dataSync() as Float32Array | undefined;
  tf.dispose([pixels!, ...(flowTensor ? [flowTensor] : [])]);
  const side = model.size * model.size;
  const source = face.landmarks.dataSync();
  return Array.from({ length: n }, (_, i) => {
    const rgb = Uint8Array.from(data.subarray(i * side * 3, (i + 1) * side * 3));
    if (flow && closures[i]! > 0) paintBlink(rgb, model.size, whereWarpTook(flow.subarray(i * side * 2, (i + 1) * side * 2), model.size, source), closures[i]!);
    return face.posed ? sampleFrame(rgb, model.size, headTurnMap(face.posed.fit, poses[i]!)) : rgb;
  });
}

export interface PreviewRequest {
  emotion: EmotionMix;
  pose: HeadPoseDegrees;
  noiseSeed: number;
  /** Speech around this time (seconds) shapes the mouth; without audio the mouth is at rest. */
  audio?: PcmAudio | null;
  time?: number;
  /** The clip's blink rate: the frame at `time` blinks where the generated clip would. */
  blinksPerMinute?: number;
}

/** One frame for the given settings (the editor's live preview). */
export function previewFrame(model: SpeakModel, face: PreparedFace, request: PreviewRequest): Uint8Array {
  const pose = checkPose(request.pose);
  const time = request.time ?? 0;
  const frame = Math.max(0, Math.round(time * VIDEO_FPS));
  const audio = request.audio ?? null;
  const spoken = audio ? Math.ceil((audio.samples.length / audio.sampleRate) * VIDEO_FPS) : 0;
  const frames = audio ? Math.max(frame + 1, spoken) : 1;
  let windows: MelWindows;
  if (audio && frames === spoken) {
    windows = previewWindows.get(audio) ?? speechWindows(audio, frames);
    previewWindows.set(audio, windows);
  } else windows = speechWindows(audio, frames);
  const row = Math.min(frame, frames - 1);
  const closure = blinkSchedule(frames, request.blinksPerMinute ?? 0, request.noiseSeed)[row]!;
  return renderRows(model, face, windows, row, [pose], [request.emotion], request.noiseSeed, [closure])[0]!;
}

export interface GenerateProgress {
  framesDone: number;
  framesTotal: number;
}

export interface GeneratedClip {
  frames: Uint8Array[];
  size: number;
  fps: number;
  audio: PcmAudio;
}

/** Longest speech one generation takes: frames are kept in memory (64 px: ~12 KB each). */
export const MAX_GENERATE_SECONDS = 600;

/**
 * Frames at 25 fps for the whole speech, `batch` at a time; `shouldStop` is checked between
 * batches (a stopped generation throws). The emotion and the pose are constant or follow their curves.
 */
export async function generateClip(
  model: SpeakModel,
  face: PreparedFace,
  audio: PcmAudio,
  performance: Performance,
  options: { batch?: number; onProgress?: (p: GenerateProgress) => void; shouldStop?: () => boolean } = {},
): Promise<GeneratedClip> {
  const seconds = audio.samples.length / audio.sampleRate;
  if (!(seconds > 0)) throw new Error('The speech is empty: give a WAV with sound in it');
  if (seconds > MAX_GENERATE_SECONDS) throw new Error(`The speech is ${seconds.toFixed(0)} s long; one generation takes at most ${MAX_GENERATE_SECONDS} s: cut it into parts`);
  const total = Math.max(1, Math.round(seconds * VIDEO_FPS));
  const poses = Array.from({ length: total }, (_, i) => checkPose(poseAt(performance.pose, i / VIDEO_FPS)));
  const emotions = Array.from({ length: total }, (_, i) => emotionAt(performance.emotion, i / VIDEO_FPS));
  emotions.forEach(checkEmotion); // before any frame is made
  const windows = speechWindows(audio, total);
  const closures = blinkSchedule(total, performance.blinksPerMinute ?? 0, performance.noiseSeed);
  const batch = Math.max(1, options.batch ?? 8);
  const frames: Uint8Array[] = [];
  for (let from = 0; from < total; from += batch) {
    if (options.shouldStop?.()) throw Object.assign(new Error('Generation stopped'), { name: 'StoppedError' });
    frames.push(...renderRows(model, face, windows, from, poses.slice(from, from + batch), emotions.slice(from, from + batch), performance.noiseSeed, closures.slice(from, from + batch)));
    options.onProgress?.({ framesDone: frames.length, framesTotal: total });
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { frames, size: model.size, fps: VIDEO_FPS, audio };
}
