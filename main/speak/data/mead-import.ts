/**
 * A MEAD-style corpus converted once into the studio's corpus folder: the real detector's crops as
 * PNG frames, the speech as a WAV, face-api's landmarks (and any labelled poses) in labels.json,
 * and a manifest. Finding and measuring faces is the slow part of reading real video; done once
 * here, training then reads the folder lazily with readCorpus like the procedural corpus, however
 * large it is (readMead holds every crop in memory).
 *
 * The manifest is written last: an import that stops half-way leaves a folder readCorpus refuses
 * (no manifest.json), never a corpus with clips missing.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeWav } from '../audio/wav';
import { CORPUS_FORMAT, CORPUS_VERSION, frameFile, type ManifestClip } from '../corpus/corpus-writer';
import type { Emotion } from '../corpus/emotions';
import { encodePng } from '../corpus/png';
import type { SpeakClip } from './clip';
import { meadClips, type ReadMeadOptions } from './mead-reader';

/** A clip of an imported corpus: the corpus writer's manifest entry, without a sentence (MEAD's text is not read). */
export type ImportedClip = Omit<ManifestClip, 'sentence'>;

export interface ImportManifest {
  format: typeof CORPUS_FORMAT;
  version: number;
  /** Real footage: no seed made it. */
  seed: null;
  size: number;
  fps: number;
  identities: string[];
  emotions: Emotion[];
  levels: number[];
  landmarks: 'ibug-68';
  clips: ImportedClip[];
  totalFrames: number;
  source: { kind: 'mead'; dir: string; landmarks: string; skipped: { id: string; reason: string }[] };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

function clipLabels(clip: SpeakClip, level: number) {
  return {
    identity: clip.identity,
    emotion: clip.emotion,
    level,
    intensity: clip.intensity,
    fps: clip.fps,
    size: clip.size,
    audio: { file: 'audio.wav', sampleRate: clip.audio.sampleRate, samples: clip.audio.samples.length },
    landmarkLayout: 'ibug-68',
    coordinates: "pixels of the crop; face-api's 68-point model, not ground truth",
    frames: Array.from({ length: clip.frameCount }, (_, i) => ({
      index: i,
      file: frameFile(i),
      time: Math.round((i / clip.fps) * 1e4) / 1e4,
      landmarks: clip.landmarks ? Array.from({ length: 68 }, (_, k) => [round2(clip.landmarks![i]![2 * k]!), round2(clip.landmarks![i]![2 * k + 1]!)]) : null,
      yaw: clip.poses?.[i]?.yaw ?? null,
      pitch: clip.poses?.[i]?.pitch ?? null,
      roll: clip.poses?.[i]?.roll ?? null,
      emotion: clip.emotion,
      intensity: clip.intensity,
    })),
  };
}

/** Imports `dir` (any layout readMead reads) into the empty or new folder `out`; returns the manifest written. */
export async function importMead(dir: string, out: string, options: ReadMeadOptions = {}): Promise<ImportManifest> {
  if (existsSync(out) && readdirSync(out).length) throw new Error(`${out} is not empty: the import goes into a new or empty folder (choose another one or empty it).`);
  const skipped: { id: string; reason: string }[] = [];
  const clips: ImportedClip[] = [];
  const size = options.size ?? 64;
  mkdirSync(out, { recursive: true });
  for await (const clip of meadClips(dir, { ...options, onClipSkipped: (id, reason) => (skipped.push({ id, reason }), options.onClipSkipped?.(id, reason)) })) {
    // The id is <actor>/<emotion>/level_<k>/<clip>: the corpus's own folder layout.
    const level = Number(/level_(\d+)/.exec(clip.id)![1]);
    const folder = path.join(out, ...clip.id.split('/'));
    mkdirSync(folder, { recursive: true });
    for (let i = 0; i < clip.frameCount; i++) writeFileSync(path.join(folder, frameFile(i)), encodePng(clip.frame(i), clip.size, clip.size));
    writeFileSync(path.join(folder, 'audio.wav'), encodeWav(clip.audio));
    writeFileSync(path.join(folder, 'labels.json'), `${JSON.stringify(clipLabels(clip, level))}\n`);
    clips.push({ path: clip.id, identity: clip.identity, emotion: clip.emotion, level, intensity: clip.intensity, frames: clip.frameCount });
  }
  if (!clips.length) throw new Error(`No clip of ${dir} could be imported: the real detector found no face in any first frame (${skipped.length} clips skipped).`);
  const every = options.landmarkEvery ?? 1;
  const manifest: ImportManifest = {
    format: CORPUS_FORMAT,
    version: CORPUS_VERSION,
    seed: null,
    size,
    fps: 25,
    identities: [...new Set(clips.map((c) => c.identity))],
    emotions: [...new Set(clips.map((c) => c.emotion))],
    levels: [...new Set(clips.map((c) => c.level))].sort(),
    landmarks: 'ibug-68',
    clips,
    totalFrames: clips.reduce((s, c) => s + c.frames, 0),
    source: { kind: 'mead', dir: path.resolve(dir), landmarks: every === 0 ? 'none' : every === 1 ? "face-api's 68-point model on every frame" : `face-api's 68-point model on every ${every}th frame, interpolated`, skipped },
  };
  writeFileSync(path.join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}
