/**
 * Procedural talking-face clips in memory, the same people, speech and motion the corpus writer
 * puts on disk (same seeds), with frames rendered on first use and kept. Training and tests take
 * clips from here without a corpus folder; `blockwise speak corpus` writes the same clips.
 */
import type { Speech } from '../audio/espeak';
import { corpusClip } from '../corpus/corpus-writer';
import { EMOTIONS, type Emotion } from '../corpus/emotions';
import { makeIdentities } from '../corpus/identity';
import { faceLandmarks, renderFace } from '../corpus/renderer';
import type { ClipSet, SpeakClip } from './clip';

export interface ProceduralClipOptions {
  /** Identities index range [first, first + count) of the seed's people (held-out sets use another range). */
  first?: number;
  count: number;
  seed: number;
  size: number;
  emotions?: readonly Emotion[];
  /** MEAD levels (1..3) for the non-neutral emotions [3]. */
  levels?: readonly number[];
  /** Cut every clip to this many frames. */
  maxFrames?: number;
}

export function proceduralClips(options: ProceduralClipOptions): ClipSet {
  const first = options.first ?? 0;
  const people = makeIdentities(first + options.count, options.seed).slice(first);
  const speechCache = new Map<string, Speech>();
  const clips: SpeakClip[] = [];
  for (const identity of people) {
    for (const emotion of options.emotions ?? EMOTIONS) {
      for (const level of emotion === 'neutral' ? [1] : (options.levels ?? [3])) {
        const { intensity, speech, plan } = corpusClip(options.seed, identity, emotion, level, 1, speechCache, options.maxFrames);
        const rendered = new Map<number, Uint8Array>();
        const render = (i: number) => {
          const rgb = renderFace(identity, plan.frames[i]!.state, { size: options.size }).rgb;
          rendered.set(i, rgb);
          return rgb;
        };
        const samplesKept = Math.min(speech.audio.samples.length, Math.floor((plan.frames.length * speech.audio.sampleRate) / plan.fps));
        clips.push({
          id: `${identity.name}/${emotion}/level_${level}/001`,
          identity: identity.name,
          emotion,
          intensity,
          size: options.size,
          frameCount: plan.frames.length,
          fps: plan.fps,
          frame: (i) => {
            if (!Number.isInteger(i) || i < 0 || i >= plan.frames.length) throw new RangeError(`Frame ${i} is outside clip ${identity.name}/${emotion} (${plan.frames.length} frames)`);
            return rendered.get(i) ?? render(i);
          },
          // Landmarks need no painting: known for every frame at once (the points renderFace returns).
          landmarks: plan.frames.map((f) => Float32Array.from(faceLandmarks(identity, f.state, options.size).flat())),
          poses: plan.frames.map((f) => ({ ...f.state.pose })),
          audio: { sampleRate: speech.audio.sampleRate, samples: speech.audio.samples.subarray(0, samplesKept) },
        });
      }
    }
  }
  return { clips, identities: people.map((p) => p.name) };
}
