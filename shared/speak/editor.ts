/**
 * The talking-head editor's records as they cross the contract: faces, speech, preview settings,
 * a generated clip's settings (the `talking-head-clip` job's config) and a saved editor project.
 */
import { z } from 'zod';
import { MAX_BLINKS_PER_MINUTE } from './performance';
import { SPEAK_EMOTIONS } from './settings';

const degrees = z.number().min(-90).max(90);

export const emotionMix = z
  .object({
    /** Weights over the 8 MEAD emotions (normalised by the model; missing ones are 0). */
    weights: z.partialRecord(z.enum(SPEAK_EMOTIONS), z.number().min(0).max(1)),
    intensity: z.number().min(0).max(1),
  })
  .strict();

export const headPose = z.object({ yaw: degrees, pitch: degrees, roll: degrees }).strict();
/**
 * How the head follows the pose sliders: 'posed', the frame turned by geometry (follows the asked
 * angles; a new editor project's choice), or 'absolute', the motion the model learned (keeps a
 * photo's look a little better, turns about 40% of an asked angle). Missing in projects and clips
 * saved before the choice: absolute, as they were made.
 */
export const headMotion = z.enum(['absolute', 'posed']).default('absolute');
export type HeadMotion = z.output<typeof headMotion>;

/** Blinks a minute (0: none; missing in projects and clips saved before blinks: none). */
export const blinksPerMinute = z.number().min(0).max(MAX_BLINKS_PER_MINUTE).default(0);

/** A pose at a time of the clip (seconds); `ease` false: straight to it, else smoothstep in and out. */
export const poseKey = headPose.extend({ t: z.number().min(0).max(600), ease: z.boolean().default(true) }).strict();

/** An emotion mix at a time of the clip (seconds); between keys weights and intensity blend (eased unless `ease` is false). */
export const emotionKey = emotionMix.extend({ t: z.number().min(0).max(600), ease: z.boolean().default(true) }).strict();
export type EmotionKey = z.output<typeof emotionKey>;

const point = z.tuple([z.number(), z.number()]);
export const cropBox = z.object({ centre: point, side: z.number(), angle: z.number(), corners: z.tuple([point, point, point, point]) });

export const editorFace = z.object({
  id: z.string(),
  label: z.string(),
  source: z.enum(['corpus', 'portrait', 'upload']),
  size: z.number().int().positive(),
  licence: z.string().nullable(),
  cropBox: cropBox.nullable(),
  photo: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).nullable(),
  cropUrl: z.string().startsWith('data:image/png;base64,'),
});
export type EditorFace = z.infer<typeof editorFace>;

export const editorSpeech = z.object({
  id: z.string(),
  name: z.string(),
  source: z.enum(['file', 'text']),
  text: z.string().nullable(),
  seconds: z.number().positive(),
  sampleRate: z.number().int().positive(),
  peaks: z.array(z.number()),
  createdAt: z.number(),
});
export type EditorSpeech = z.infer<typeof editorSpeech>;

export const previewFrameResult = z.object({
  dataUrl: z.string().startsWith('data:image/png;base64,'),
  size: z.number().int().positive(),
  /** The generator's forward pass in the editor's worker, ms. */
  forwardMs: z.number(),
  /** From the request's arrival at the host to the encoded frame, ms. */
  hostMs: z.number(),
  /** What had to be loaded first (model, face, speech); empty when the preview was one forward pass. */
  loaded: z.array(z.string()),
});
export type PreviewFrameResult = z.infer<typeof previewFrameResult>;

/** A generated clip's settings: the `talking-head-clip` run's config. */
export const clipSettings = z
  .object({
    model: z.string().min(1),
    identityId: z.string().min(1).max(80),
    identityLabel: z.string().max(200).default(''),
    speechId: z.string().min(1).max(64),
    speechName: z.string().max(200).default(''),
    emotion: emotionMix,
    pose: z.array(poseKey).min(1).max(500),
    /** Emotion keyframes; when given they drive the emotion over time instead of `emotion`. */
    emotionKeys: z.array(emotionKey).max(500).default([]),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    blinks: blinksPerMinute,
    motion: headMotion,
  })
  .strict();
export type ClipSettings = z.output<typeof clipSettings>;

export const editorClip = z.object({
  runId: z.number().int().positive(),
  name: z.string(),
  status: z.string(),
  createdAt: z.number(),
  error: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  frames: z.number().int().nullable(),
  fps: z.number().nullable(),
  seconds: z.number().nullable(),
});
export type EditorClip = z.infer<typeof editorClip>;

export const clipMedia = z.object({
  runId: z.number().int().positive(),
  fps: z.number().positive(),
  size: z.number().int().positive(),
  frames: z.array(z.string().startsWith('data:image/png;base64,')),
  audioUrl: z.string().startsWith('data:audio/wav;base64,'),
  seconds: z.number(),
});
export type ClipMedia = z.infer<typeof clipMedia>;

/** What an editor project keeps: the face, the speech, the sliders and the keyframes, and the model. */
export const editorState = z
  .object({
    model: z.string().min(1).max(2000),
    identityId: z.string().max(80).nullable(),
    speechId: z.string().max(64).nullable(),
    emotion: emotionMix,
    pose: headPose,
    keys: z.array(poseKey).max(500),
    emotionKeys: z.array(emotionKey).max(500).default([]),
    seed: z.number().int().min(0).max(2 ** 31 - 1),
    blinks: blinksPerMinute,
    motion: headMotion,
  })
  .strict();
export type EditorState = z.output<typeof editorState>;

export const editorProject = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  state: editorState,
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type EditorProject = z.infer<typeof editorProject>;
