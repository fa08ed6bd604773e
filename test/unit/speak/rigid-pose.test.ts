/**
 * The head's rigid motion by geometry (posed motion): a corpus face's yaw is read back from its
 * landmarks, and turning a frontal face's picture through the mean 3D head brings it near the
 * renderer's picture of that person turned (the mean head stands in for the person's own depth).
 */
import { describe, expect, it } from 'vitest';
import { NEUTRAL_STATE } from '../../../main/speak/corpus/face-model';
import { makeIdentity } from '../../../main/speak/corpus/identity';
import { faceLandmarks, renderFace } from '../../../main/speak/corpus/renderer';
import { headTurnMap, sampleFrame } from '../../../main/speak/model/head-turn';
import { fitHeadPose } from '../../../main/speak/model/rigid-pose';

const at = (index: number, yaw: number, roll = 0) => Float32Array.from(faceLandmarks(makeIdentity(0, index), { ...NEUTRAL_STATE, pose: { yaw, pitch: 0, roll } }, 64).flat());

describe('rigid head pose', () => {
  it('reads a corpus face\'s yaw and roll from its landmarks', () => {
    for (const [yaw, roll] of [[0, 0], [15, 0], [-20, 5]] as const) {
      const fit = fitHeadPose(at(3, yaw, roll), 64);
      expect(Math.abs(fit.pose.yaw - yaw)).toBeLessThan(3);
      expect(Math.abs(fit.pose.roll - roll)).toBeLessThan(2);
    }
    expect(() => fitHeadPose(new Float32Array(10), 64)).toThrow(/68 landmarks/);
  });

  it('turns a corpus face\'s picture toward the renderer\'s picture of that person turned', () => {
    // Mean absolute pixel difference (0..255) over the whole 64 px picture.
    const difference = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
    for (const person of [1, 5, 9]) {
      const identity = makeIdentity(0, person);
      const frontal = renderFace(identity, NEUTRAL_STATE, { size: 64 });
      const fit = fitHeadPose(Float32Array.from(frontal.landmarks.flat()), 64);
      expect(difference(sampleFrame(frontal.rgb, 64, headTurnMap(fit, fit.pose)), frontal.rgb)).toBeLessThan(0.01);
      // Measured: turned pictures are 0.26-0.68 of the unturned one's difference from the truth.
      for (const pose of [{ yaw: 20, pitch: 0, roll: 0 }, { yaw: -20, pitch: 0, roll: 0 }, { yaw: 0, pitch: 10, roll: 0 }, { yaw: 0, pitch: 0, roll: 10 }]) {
        const truth = renderFace(identity, { ...NEUTRAL_STATE, pose }, { size: 64 }).rgb;
        expect(difference(sampleFrame(frontal.rgb, 64, headTurnMap(fit, pose)), truth)).toBeLessThan(0.75 * difference(frontal.rgb, truth));
      }
      // A repeated pose reuses the face's last map; another pose gets its own.
      const turned = headTurnMap(fit, { yaw: 12, pitch: 0, roll: 0 });
      expect(headTurnMap(fit, { yaw: 12, pitch: 0, roll: 0 })).toBe(turned);
      expect(headTurnMap(fit, { yaw: 13, pitch: 0, roll: 0 })).not.toBe(turned);
    }
  });
});
