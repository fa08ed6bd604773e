/**
 * The head's rigid motion by geometry (posed motion): a corpus face's yaw is read back from its
 * landmarks, and turning a frontal face lands its points where the renderer draws that person
 * turned, within a pixel or two at 64 px (the mean face stands in for the person's own depth).
 */
import { describe, expect, it } from 'vitest';
import { NEUTRAL_STATE } from '../../../main/speak/corpus/face-model';
import { makeIdentity } from '../../../main/speak/corpus/identity';
import { faceLandmarks } from '../../../main/speak/corpus/renderer';
import { fitHeadPose, turnHead } from '../../../main/speak/model/rigid-pose';

const at = (index: number, yaw: number, roll = 0) => Float32Array.from(faceLandmarks(makeIdentity(0, index), { ...NEUTRAL_STATE, pose: { yaw, pitch: 0, roll } }, 64).flat());
const meanError = (a: Float32Array, b: Float32Array) => {
  let sum = 0;
  for (let i = 0; i < 68; i++) sum += Math.hypot(a[2 * i]! - b[2 * i]!, a[2 * i + 1]! - b[2 * i + 1]!);
  return sum / 68;
};

describe('rigid head pose', () => {
  it('reads a corpus face\'s yaw and roll from its landmarks', () => {
    for (const [yaw, roll] of [[0, 0], [15, 0], [-20, 5]] as const) {
      const fit = fitHeadPose(at(3, yaw, roll), 64);
      expect(Math.abs(fit.pose.yaw - yaw)).toBeLessThan(3);
      expect(Math.abs(fit.pose.roll - roll)).toBeLessThan(2);
    }
    expect(() => fitHeadPose(new Float32Array(10), 64)).toThrow(/68 landmarks/);
  });

  it('keeps a face at its own pose and turns it where the renderer draws it turned', () => {
    for (const person of [1, 5, 9]) {
      const frontal = at(person, 0);
      const fit = fitHeadPose(frontal, 64);
      expect(meanError(turnHead(fit, fit.pose), frontal)).toBeLessThan(1e-3);
      for (const yaw of [-20, 20]) {
        const truth = at(person, yaw);
        // The turned points are near the truth, and far nearer than the unturned ones.
        expect(meanError(turnHead(fit, { yaw, pitch: 0, roll: 0 }), truth)).toBeLessThan(1.2);
        expect(meanError(turnHead(fit, { yaw, pitch: 0, roll: 0 }), truth)).toBeLessThan(meanError(frontal, truth) / 3);
      }
      const rolled = at(person, 0, 8);
      expect(meanError(turnHead(fit, { yaw: 0, pitch: 0, roll: 8 }), rolled)).toBeLessThan(1.2);
    }
  });
});
