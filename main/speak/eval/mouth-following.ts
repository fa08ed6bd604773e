/**
 * Does the speech drive the generator's mouth? On held-out clips, the lip opening of the motion
 * path's predicted driving landmarks (audio encoder -> editing -> motion head; no images) against
 * the ground truth's, with the clip's own speech and with another clip's (the control), and
 * against the speech's loudness. The source is each person's neutral clip, frame 0; emotion and
 * pose codes come from the target frames through IRFD's encoders, as in training.
 */
import * as tf from '@tensorflow/tfjs-core';
import { frameRms, loudnessFromRms } from '../audio/loudness';
import { melWindows } from '../audio/mel';
import type { ClipSet, SpeakClip } from '../data/clip';
import { audioEncoder } from '../model/audio-encoder';
import { drivingLandmarks, type GeneratorSettings } from '../model/generator';
import { encodeFaces } from '../model/irfd';
import { lipOpening } from '../model/mouth';
import type { Params } from '../model/nn';
import type { SpeakModel } from '../speak-model';
import { pearson } from './frame-quality';

/** The motion path's weights and settings (a trained model's, or a stage's still training). */
export interface MotionPath {
  generator: Params;
  audio: Params;
  settings: GeneratorSettings;
  audioSettings: object;
}

/** A loaded model's motion path. */
export const motionPathOf = (model: SpeakModel): MotionPath => ({ generator: model.generator.scope('generator'), audio: model.generator.scope('audio'), settings: model.generatorSettings, audioSettings: model.audioSettings });

export interface MouthFollowing {
  /** Mean over clips of r(predicted opening, true opening) with the clip's own speech. */
  own: number;
  /** The same with another clip's speech: near 0 when the mouth follows the speech. */
  control: number;
  /** r(predicted opening, loudness of the own speech). */
  loudness: number;
  /** r(true opening, loudness): how much of the mouth loudness alone explains in the corpus. */
  truthLoudness: number;
}

/** IRFD's encoders come from `model`; the motion path may be the model's or another's (a stage in training). */
export function mouthFollowing(model: SpeakModel, path: MotionPath, held: ClipSet): MouthFollowing {
  const rows: number[][] = [];
  const neutralOf = (identity: string) => held.clips.find((c) => c.identity === identity && c.emotion === 'neutral')!;
  held.clips.forEach((clip, k) => {
    const other = held.clips[(k + 9) % held.clips.length]!;
    const n = Math.min(clip.frameCount, other.frameCount);
    const source = neutralOf(clip.identity);
    const predictWith = (speech: SpeakClip) =>
      tf.tidy(() => {
        const images = new Float32Array(n * clip.size * clip.size * 3);
        for (let i = 0; i < n; i++) clip.frame(i).forEach((v, j) => (images[i * clip.size * clip.size * 3 + j] = v / 255));
        const target = encodeFaces(model.irfd, tf.tensor4d(images, [n, clip.size, clip.size, 3]), model.arch);
        const src = encodeFaces(model.irfd, tf.tensor4d(Float32Array.from(source.frame(0), (v) => v / 255), [1, clip.size, clip.size, 3]), model.arch);
        const w = melWindows(speech.audio, speech.frameCount, { fps: speech.fps });
        const mel = tf.tensor3d(w.data.subarray(0, n * w.steps * w.mels), [n, w.steps, w.mels]);
        const { landmarks } = drivingLandmarks(
          path.generator,
          {
            sourceLandmarks: tf.tile(tf.tensor2d(source.landmarks![0]!, [1, 136]), [n, 1]),
            identity: tf.tile(src.identity, [n, 1]),
            emotion: target.emotion,
            pose: target.pose,
            audio: audioEncoder(path.audio, mel, path.audioSettings),
            noiseSeed: null,
          },
          clip.size,
          path.settings,
        );
        const px = tf.mul(tf.add(landmarks, 1), clip.size / 2).arraySync() as number[][];
        return px.map(lipOpening);
      });
    const truth = Array.from({ length: n }, (_, i) => lipOpening(clip.landmarks![i]!));
    const own = predictWith(clip);
    const control = predictWith(other);
    const loud = Array.from(frameRms(clip.audio), loudnessFromRms).slice(0, n);
    rows.push([pearson(own, truth), pearson(control, truth), pearson(own, loud), pearson(truth, loud)]);
  });
  const [own, control, loudness, truthLoudness] = [0, 1, 2, 3].map((j) => {
    const xs = rows.map((r) => r[j]!).filter(Number.isFinite);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  }) as [number, number, number, number];
  return { own, control, loudness, truthLoudness };
}

