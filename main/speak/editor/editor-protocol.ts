/** Messages between the host and the talking-head editor's worker (./editor-worker.ts). Plain data. */
import type { HeadMotion } from '../../../shared/speak/editor';
import type { EmotionMix, HeadPoseDegrees } from '../../../shared/speak/performance';
import type { CropBox } from '../instruments/face-finder';

export type EditorRequest =
  /** Find, align and crop the face of a photo (PNG/JPEG bytes) at the model's size. */
  | { op: 'find'; bytes: Uint8Array; size: number }
  /** One preview frame; model, face and speech are loaded once and kept. */
  | {
      op: 'preview';
      model: string;
      /** A face folder (face.json + crop.png) of ./face-store.ts. */
      face: string;
      /** A 16-bit WAV, or null for a still mouth. */
      speech: string | null;
      time: number;
      emotion: EmotionMix;
      pose: HeadPoseDegrees;
      seed: number;
      blinks: number;
      motion: HeadMotion;
    };

export interface FoundFaceReply {
  crop: Uint8Array;
  landmarks: Float32Array;
  cropBox: CropBox;
  width: number;
  height: number;
}

export interface PreviewReply {
  rgb: Uint8Array;
  size: number;
  /** The forward pass alone, in the worker. */
  forwardMs: number;
  /** Whether the model, face or speech had to be loaded for this request (the first preview after a change). */
  loaded: string[];
}

export type EditorMessage = { id: number; request: EditorRequest };
export type EditorReply = { id: number; ok: true; result: FoundFaceReply | PreviewReply } | { id: number; ok: false; name: string; message: string };
