/** The editor's pure pieces: preview coalescing, undo/redo bursts, keyframe edits, and the stored ZIP of the frame export. */
import { describe, expect, it } from 'vitest';
import { History } from '../../../renderer/src/talking-head/history';
import { moveKey, removeKey, setKey, toggleEase, type EditorKey } from '../../../renderer/src/talking-head/keyframes';
import { LatestOnly } from '../../../renderer/src/talking-head/preview-queue';
import { crc32, zipStored } from '../../../renderer/src/talking-head/zip';
import { emotionAt } from '../../../shared/speak/performance';

describe('preview coalescing', () => {
  it('keeps one request in flight and sends only the latest settings asked for meanwhile', async () => {
    const sent: number[] = [];
    const shown: number[] = [];
    const replies: (() => void)[] = [];
    const queue = new LatestOnly<number, number>(
      (n) => {
        sent.push(n);
        return new Promise((resolve) => replies.push(() => resolve(n * 10)));
      },
      (result) => shown.push(result),
      (error) => {
        throw error;
      },
    );
    queue.request(1);
    for (let n = 2; n <= 6; n++) queue.request(n); // a slider moving while frame 1 renders
    expect(sent).toEqual([1]);
    expect(queue.busy).toBe(true);
    replies.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(sent).toEqual([1, 6]); // 2..5 were overtaken
    replies.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    expect(shown).toEqual([10, 60]);
    expect(queue.busy).toBe(false);
  });
});

describe('undo/redo', () => {
  it('records a burst on one control once, undoes and redoes, and a new change clears redo', () => {
    const history = new History<{ yaw: number }>(10, 700);
    history.record({ yaw: 0 }, 'yaw', 1000);
    history.record({ yaw: 5 }, 'yaw', 1200); // same drag
    history.record({ yaw: 9 }, 'yaw', 1500);
    history.record({ yaw: 12 }, 'pitch', 1600); // another control
    expect(history.undo({ yaw: 12 })).toEqual({ yaw: 12 });
    expect(history.undo({ yaw: 12 })).toEqual({ yaw: 0 });
    expect(history.undo({ yaw: 0 })).toBeNull();
    expect(history.redo({ yaw: 0 })).toEqual({ yaw: 12 });
    history.record({ yaw: 12 }, 'roll', 5000);
    expect(history.canRedo).toBe(false);
  });
});

describe('pose keys', () => {
  const pose = (yaw: number) => ({ yaw, pitch: 0, roll: 0 });
  it('adds keys in time order, replaces one at the same time, moves within the clip, toggles easing and deletes', () => {
    let keys: EditorKey[] = [];
    keys = setKey(keys, 1.5, pose(0)).keys;
    const added = setKey(keys, 0, pose(20));
    expect(added.index).toBe(0);
    keys = added.keys;
    expect(keys.map((k) => [k.t, k.yaw])).toEqual([[0, 20], [1.5, 0]]);
    keys = setKey(keys, 1.51, pose(5)).keys; // within one frame of 1.5: the same key
    expect(keys.map((k) => [k.t, k.yaw])).toEqual([[0, 20], [1.51, 5]]);
    const moved = moveKey(keys, 0, 9, 1.6); // past the end: clamped, and now last
    expect(moved.keys.map((k) => k.t)).toEqual([1.51, 1.6]);
    expect(moved.index).toBe(1);
    expect(moveKey(keys, 0, 1.505, 1.6).keys).toEqual(keys); // onto another key: refused
    expect(toggleEase(keys, 1)[1]!.ease).toBe(false);
    expect(removeKey(keys, 0)).toEqual([keys[1]]);
  });
});

describe('frame export zip', () => {
  it('writes entries any unzip reads back: names, sizes, CRC-32 and bytes', async () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the standard check value
    const files = [
      { name: 'frames/000000.png', data: Uint8Array.from([137, 80, 78, 71, 1, 2, 3]) },
      { name: 'audio.wav', data: new TextEncoder().encode('RIFF....WAVE') },
    ];
    const zip = Buffer.from(await zipStored(files).arrayBuffer());
    const end = zip.length - 22;
    expect(zip.readUInt32LE(end)).toBe(0x06054b50);
    expect(zip.readUInt16LE(end + 10)).toBe(2);
    let local = 0;
    for (const file of files) {
      expect(zip.readUInt32LE(local)).toBe(0x04034b50);
      expect(zip.readUInt16LE(local + 8)).toBe(0); // stored
      expect(zip.readUInt32LE(local + 14)).toBe(crc32(file.data));
      const nameLength = zip.readUInt16LE(local + 26);
      expect(zip.toString('utf8', local + 30, local + 30 + nameLength)).toBe(file.name);
      const data = zip.subarray(local + 30 + nameLength, local + 30 + nameLength + file.data.length);
      expect(Buffer.from(data).equals(Buffer.from(file.data))).toBe(true);
      local += 30 + nameLength + file.data.length;
    }
    expect(zip.readUInt32LE(local)).toBe(0x02014b50); // the central directory follows the data
  });
});

describe('emotion keys', () => {
  it('hold outside the keys, blend normalised mixes and intensity between them, eased or linear', () => {
    const keys = [
      { t: 0, weights: {}, intensity: 0.2, ease: true }, // all zero: neutral
      { t: 2, weights: { happy: 2, surprised: 2 }, intensity: 1, ease: false },
    ];
    expect(emotionAt(keys, -1)).toEqual({ weights: { neutral: 1 }, intensity: 0.2 });
    expect(emotionAt(keys, 5)).toEqual({ weights: { happy: 0.5, surprised: 0.5 }, intensity: 1 });
    const middle = emotionAt(keys, 1); // linear into the second key: halfway
    expect(middle.intensity).toBeCloseTo(0.6, 9);
    expect(middle.weights).toEqual({ neutral: 0.5, happy: 0.25, surprised: 0.25 });
    const eased = emotionAt([keys[0]!, { ...keys[1]!, ease: true }], 0.5); // smoothstep(0.25) = 0.15625
    expect(eased.intensity).toBeCloseTo(0.2 + 0.8 * 0.15625, 9);
  });
});
