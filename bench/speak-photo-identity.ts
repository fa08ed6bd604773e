/**
 * Real photos through a talking-head model, per motion mode (posed, relative, absolute): the share
 * of frames generated with speech that the real face descriptor judges the same person as the
 * photo, beside the ceiling (the model's own-size crop, upscaled, against the photo), and the real
 * face mesh's error against asked poses (yaw +-20, pitch +-12, roll 10: the evaluation's).
 *
 *   node scripts/run-ts.mjs bench/speak-photo-identity.ts [--model DIR] [--frames N] [--modes posed,absolute]
 */
import path from 'node:path';
import { speak } from '../main/speak/audio/espeak';
import { identityFromPhoto } from '../main/speak/data/photo-source';
import { detectFaces } from '../main/speak/instruments/detect-faces';
import { descriptorDistance, SAME_PERSON_DISTANCE } from '../main/speak/instruments/identity';
import { resizeImage } from '../main/speak/instruments/image-warp';
import { demoPhotos } from '../main/cli/speak';
import { FaceMeshMeter } from '../main/speak/instruments/head-pose';
import { generateClip, loadSpeakModel, prepareFace, previewFrame, type MotionMode } from '../main/speak/speak-model';
import { selectBackend } from '../main/engine/backend/select';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
};

async function main() {
  await selectBackend();
  const model = loadSpeakModel(arg('--model', 'resources/speak-model'));
  const frames = Number(arg('--frames', '25'));
  const { audio: speech } = speak('The quick brown fox jumps over the lazy dog, then rests by the river.');
  const audio = { sampleRate: speech.sampleRate, samples: speech.samples.subarray(0, Math.floor((frames / 25) * speech.sampleRate)) };
  const upscale = (rgb: Uint8Array) => resizeImage({ width: model.size, height: model.size, data: rgb }, 256, 256);
  const modes = arg('--modes', 'posed,relative,absolute').split(',') as MotionMode[];
  const asks = [{ yaw: -20, pitch: 0, roll: 0 }, { yaw: 20, pitch: 0, roll: 0 }, { yaw: 0, pitch: 12, roll: 0 }, { yaw: 0, pitch: -12, roll: 0 }, { yaw: 0, pitch: 0, roll: 10 }];
  const meter = await FaceMeshMeter.start({ maxFaces: 1 });
  const totals: Record<string, [number, number]> = {};
  const poseErrors: Record<string, { yaw: number[]; pitch: number[]; roll: number[]; missed: number }> = {};
  for (const photo of demoPhotos()) {
    const who = await identityFromPhoto(photo, { size: model.size, chooseLargest: true });
    const [crop] = await detectFaces(upscale(who.crop.data), { descriptor: true });
    const ceiling = crop?.descriptor ? descriptorDistance(crop.descriptor, who.descriptor) : NaN;
    const line = [`${path.basename(photo)}: crop ${ceiling.toFixed(2)}`];
    for (const mode of modes) {
      const face = prepareFace(model, { rgb: who.crop.data, size: model.size, landmarks: who.landmarks }, mode);
      const clip = await generateClip(model, face, audio, { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose: { yaw: 0, pitch: 0, roll: 0 }, noiseSeed: 1 });
      const errors = (poseErrors[mode] ??= { yaw: [], pitch: [], roll: [], missed: 0 });
      const turns: string[] = [];
      for (const pose of asks) {
        const seen = await meter.headPose(upscale(previewFrame(model, face, { emotion: { weights: { neutral: 1 }, intensity: 0 }, pose, noiseSeed: 1 })));
        if (!seen) {
          errors.missed++;
          continue;
        }
        for (const axis of ['yaw', 'pitch', 'roll'] as const) errors[axis].push(Math.abs(seen[axis] - pose[axis]));
        turns.push(`${pose.yaw || pose.pitch || pose.roll}->${(pose.yaw ? seen.yaw : pose.pitch ? seen.pitch : seen.roll).toFixed(0)}`);
      }
      face.dispose();
      let same = 0;
      const distances: number[] = [];
      for (const frame of clip.frames) {
        const [found] = await detectFaces(upscale(frame), { descriptor: true });
        const d = found?.descriptor ? descriptorDistance(found.descriptor, who.descriptor) : Infinity;
        distances.push(d);
        if (d < SAME_PERSON_DISTANCE) same++;
      }
      const t = (totals[mode] ??= [0, 0]);
      t[0] += same;
      t[1] += clip.frames.length;
      const finite = distances.filter(Number.isFinite);
      line.push(`${mode} ${same}/${clip.frames.length} (median d ${finite.sort((a, b) => a - b)[Math.floor(finite.length / 2)]?.toFixed(2) ?? '-'}; mesh ${turns.join(' ')})`);
    }
    console.log(line.join(' | '));
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  for (const [mode, [same, n]] of Object.entries(totals)) {
    const e = poseErrors[mode]!;
    console.log(`${mode}: same person on ${same}/${n} frames (${((100 * same) / n).toFixed(1)}%); mesh pose error yaw ${mean(e.yaw).toFixed(1)} pitch ${mean(e.pitch).toFixed(1)} roll ${mean(e.roll).toFixed(1)} degrees (${e.missed} of ${asks.length * demoPhotos().length} frames without a face)`);
  }
  await meter.close();
  model.dispose();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
