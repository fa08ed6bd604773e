/**
 * Readers into the SpeakClip contract: the corpus folder the writer makes, read back exactly;
 * damaged files named; identities held out by a seed; MEAD-style folders of frames with the real
 * detector's crops; and videos, which need ffmpeg.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { espeakAvailable } from '../../../main/speak/audio/espeak';
import { decodeWav } from '../../../main/speak/audio/wav';
import { writeCorpus, type CorpusManifest } from '../../../main/speak/corpus/corpus-writer';
import { decodePngRgb } from '../../../main/speak/corpus/png';
import { encodeWav } from '../../../main/speak/audio/wav';
import { encodePng } from '../../../main/speak/corpus/png';
import type { ClipSet, SpeakClip } from '../../../main/speak/data/clip';
import { readCorpus } from '../../../main/speak/data/corpus-reader';
import { splitIdentities } from '../../../main/speak/data/identity-split';
import { importMead } from '../../../main/speak/data/mead-import';
import { emotionFromFolder, interpolate, readMead, resampleIndices, scanMead } from '../../../main/speak/data/mead-reader';
import { proceduralClips } from '../../../main/speak/data/procedural-clips';
import { FfmpegMissingError, locateFfmpeg, videoFrames } from '../../../main/speak/data/video-frames';
import { decodeImage } from '../../../main/data/image-codec';
import { FaceMeshMeter } from '../../../main/speak/instruments/head-pose';
import { installedFfmpeg } from '../../helpers/ffmpeg';

const root = mkdtempSync(path.join(os.tmpdir(), 'speak-readers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error a call throws (fails the test when it throws none). */
function thrown(call: () => unknown): Error {
  try {
    call();
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error was thrown');
}

describe.runIf(espeakAvailable())('corpus reader', () => {
  const corpus = path.join(root, 'corpus');
  let manifest: CorpusManifest;
  beforeAll(() => {
    manifest = writeCorpus({ out: corpus, identities: 2, seed: 5, size: 64, emotions: ['happy', 'neutral'], levels: [3], maxFrames: 4 });
  }, 60_000);

  /** A copy of the corpus to damage. */
  function copy(name: string): string {
    const dir = path.join(root, name);
    cpSync(corpus, dir, { recursive: true });
    return dir;
  }

  it('reads back the frames, landmarks, poses, labels and speech the writer wrote', () => {
    const set = readCorpus(corpus);
    expect(set.identities).toEqual(manifest.identities);
    expect(set.clips).toHaveLength(4);
    for (const [k, clip] of set.clips.entries()) {
      const entry = manifest.clips[k]!;
      const dir = path.join(corpus, entry.path);
      const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8'));
      expect(clip.id).toBe(entry.path);
      expect([clip.identity, clip.emotion, clip.intensity, clip.size, clip.fps]).toEqual([entry.identity, entry.emotion, entry.intensity, 64, 25]);
      expect(clip.frameCount).toBe(4);
      for (let i = 0; i < clip.frameCount; i++) {
        const png = decodePngRgb(readFileSync(path.join(dir, `00000${i}.png`)));
        expect(Buffer.from(clip.frame(i)).equals(Buffer.from(png.rgb))).toBe(true);
        expect(Array.from(clip.landmarks![i]!)).toEqual(labels.frames[i].landmarks.flat().map((v: number) => Math.fround(v)));
        expect(clip.poses![i]).toEqual({ yaw: labels.frames[i].yaw, pitch: labels.frames[i].pitch, roll: labels.frames[i].roll });
      }
      const wav = decodeWav(readFileSync(path.join(dir, 'audio.wav')));
      expect(clip.audio.sampleRate).toBe(wav.sampleRate);
      expect(Array.from(clip.audio.samples)).toEqual(Array.from(wav.samples));
      // The WAV was cut to the 4 frames kept: 4 / 25 s of speech.
      expect(clip.audio.samples.length).toBe(Math.floor((4 * wav.sampleRate) / 25));
      expect(() => clip.frame(4)).toThrow(/Frame 4 is outside clip/);
    }
  });

  it('resizes frames and landmarks to the size asked for, and reads only the identities asked for', () => {
    const [first] = manifest.identities;
    const set = readCorpus(corpus, { identities: [first!], size: 32 });
    expect(set.identities).toEqual([first]);
    expect(set.clips.map((c) => c.identity)).toEqual([first, first]);
    const clip = set.clips[0]!;
    const full = readCorpus(corpus).clips[0]!;
    expect(clip.size).toBe(32);
    expect(clip.frame(0)).toHaveLength(32 * 32 * 3);
    // Each 32 px pixel is the mean of a 2x2 block of the 64 px frame (bilinear at half size).
    const big = full.frame(0);
    const small = clip.frame(0);
    let worst = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const at = (yy: number, xx: number) => big[(yy * 64 + xx) * 3]!;
        const mean = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
        worst = Math.max(worst, Math.abs(small[(y * 32 + x) * 3]! - mean));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
    expect(clip.landmarks![0]![10]).toBeCloseTo(full.landmarks![0]![10]! / 2, 4);
    expect(thrown(() => readCorpus(corpus, { identities: ['nobody'] })).message).toMatch(/has no identity nobody; it has 2: /);
  });

  it('says what is wrong with a folder that is not a corpus, and names a damaged labels file, WAV or frame', () => {
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    expect(thrown(() => readCorpus(empty)).message).toMatch(/is not a SPEAK corpus: it has no manifest\.json\. Write a corpus there with `blockwise speak corpus/);
    expect(thrown(() => readCorpus(path.join(root, 'absent'))).message).toMatch(/absent does not exist/);

    const newer = copy('newer');
    const m = JSON.parse(readFileSync(path.join(newer, 'manifest.json'), 'utf8'));
    writeFileSync(path.join(newer, 'manifest.json'), JSON.stringify({ ...m, version: 9 }));
    expect(thrown(() => readCorpus(newer)).message).toMatch(/manifest\.json: is corpus format version 9; this studio reads version 1/);

    const clipPath = manifest.clips[1]!.path;
    const badLabels = copy('bad-labels');
    writeFileSync(path.join(badLabels, clipPath, 'labels.json'), '{"frames": [');
    const labelsError = thrown(() => readCorpus(badLabels));
    expect(labelsError.message).toContain(path.join(badLabels, clipPath, 'labels.json'));
    expect(labelsError.message).toMatch(/is not valid JSON/);

    const badWav = copy('bad-wav');
    writeFileSync(path.join(badWav, clipPath, 'audio.wav'), 'not a wav');
    expect(thrown(() => readCorpus(badWav)).message).toBe(
      `${path.join(badWav, clipPath, 'audio.wav')} is not a WAV file (no RIFF/WAVE header). Convert it to 16-bit PCM WAV, e.g. ffmpeg -i in.mp3 -ac 1 -c:a pcm_s16le out.wav.`,
    );

    // A PNG cut short is found by its missing end chunk before any pixel is decoded.
    const cut = copy('cut-frame');
    const frame = path.join(cut, clipPath, '000002.png');
    truncateSync(frame, 100);
    const cutError = thrown(() => readCorpus(cut));
    expect(cutError.message).toContain(frame);
    expect(cutError.message).toMatch(/is cut short/);

    // Damage inside the pixel data passes the header check: the frame names its file when decoded.
    const inside = copy('damaged-pixels');
    const insideFrame = path.join(inside, clipPath, '000001.png');
    const bytes = readFileSync(insideFrame);
    bytes.fill(0x55, 60, bytes.length - 40);
    writeFileSync(insideFrame, bytes);
    const lazy = readCorpus(inside).clips[1]!;
    expect(lazy.frame(0)).toHaveLength(64 * 64 * 3);
    expect(thrown(() => lazy.frame(1)).message).toContain(insideFrame);
    expect(thrown(() => readCorpus(inside, { verifyFrames: true })).message).toContain(insideFrame);

    // A frame removed: the counts disagree, and the message gives all three.
    const missing = copy('missing-frame');
    rmSync(path.join(missing, clipPath, '000003.png'));
    expect(thrown(() => readCorpus(missing)).message).toMatch(/has 3 PNG frames and labels\.json lists 4, but manifest\.json says 4/);
    const gap = copy('gap');
    copyFileSync(path.join(gap, clipPath, '000003.png'), path.join(gap, clipPath, '000004.png'));
    rmSync(path.join(gap, clipPath, '000002.png'));
    expect(thrown(() => readCorpus(gap)).message).toMatch(/000002\.png: is missing \(the frames must be numbered from 000000\.png without gaps\)/);
    expect(readdirSync(corpus)).toContain('manifest.json'); // the original is untouched
  });
});

describe('MEAD reader parts', () => {
  it('maps emotion folder names, resamples frame folders to 25 fps, and fills landmarks between measured frames', () => {
    expect(['angry', 'contempt', 'disgusted', 'fear', 'happy', 'neutral', 'sad', 'surprised'].map(emotionFromFolder)).toEqual(['angry', 'contempt', 'disgusted', 'fear', 'happy', 'neutral', 'sad', 'surprised']);
    expect(['Anger', 'surprise', 'fearful', 'sadness', 'bored'].map(emotionFromFolder)).toEqual(['angry', 'surprised', 'fear', 'sad', null]);
    // 30 fps frames: 1 s (30 frames) becomes 25 frames, the nearest in time each.
    const from30 = resampleIndices(30, 30, 25);
    expect(from30).toHaveLength(25);
    expect(from30.slice(0, 7)).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(resampleIndices(4, 50, 25)).toEqual([0, 2]);
    expect(resampleIndices(3, 25, 25)).toEqual([0, 1, 2]);
    expect(() => resampleIndices(3, 0, 25)).toThrow(/frame rate must be above 0/);
    const a = Float32Array.from([0, 10]);
    const b = Float32Array.from([4, 30]);
    const filled = interpolate([a, null, null, b, null], [true, false, false, true, false])!;
    expect(filled.map((p) => Array.from(p))).toEqual([[0, 10], [4 / 3, 10 + 20 / 3], [8 / 3, 10 + 40 / 3], [4, 30], [4, 30]].map((p) => p.map((v) => Math.fround(v))));
    expect(interpolate([null, null], [false, false])).toBeNull();
  });
});

describe('identity split', () => {
  const people = Array.from({ length: 10 }, (_, i) => `id${String(i).padStart(3, '0')}`);
  it('holds out the same identities for the same seed, others for another seed, and never all of them', () => {
    const a = splitIdentities(people, 3, 1);
    expect(a.heldOut).toHaveLength(3);
    expect(a.train).toHaveLength(7);
    expect([...a.train, ...a.heldOut].sort()).toEqual(people);
    expect(splitIdentities(people, 3, 1)).toEqual(a);
    const others = [2, 3, 4, 5].map((seed) => splitIdentities(people, 3, seed).heldOut.join());
    expect(others.some((h) => h !== a.heldOut.join())).toBe(true);
    expect(splitIdentities(people, 0.2, 1).heldOut).toHaveLength(2);
    expect(() => splitIdentities(people, 10, 1)).toThrow(/leaves none to train; hold out at most 9/);
    expect(() => splitIdentities(['a', 'a'], 1, 1)).toThrow(/names someone twice \(a\)/);
  });
});

/** Root-mean-square distance left after the best similarity (scale, turn, shift) maps `from` onto `to`. */
function similarityResidual(from: ArrayLike<number>, to: ArrayLike<number>): number {
  const n = from.length / 2;
  const mean = (a: ArrayLike<number>, k: number) => Array.from({ length: n }, (_, i) => a[2 * i + k]!).reduce((s, v) => s + v, 0) / n;
  const [fx, fy, tx, ty] = [mean(from, 0), mean(from, 1), mean(to, 0), mean(to, 1)];
  // As complex numbers: a = sum(conj(p) q) / sum |p|^2 over the centred points.
  let re = 0, im = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[2 * i]! - fx, py = from[2 * i + 1]! - fy, qx = to[2 * i]! - tx, qy = to[2 * i + 1]! - ty;
    re += px * qx + py * qy;
    im += px * qy - py * qx;
    norm += px * px + py * py;
  }
  re /= norm;
  im /= norm;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const px = from[2 * i]! - fx, py = from[2 * i + 1]! - fy;
    sum += (re * px - im * py - (to[2 * i]! - tx)) ** 2 + (im * px + re * py - (to[2 * i + 1]! - ty)) ** 2;
  }
  return Math.sqrt(sum / n);
}

/** Puts a rendered face on a larger grey canvas at (dx, dy), as a camera frame with room around the head. */
function onCanvas(rgb: Uint8Array, side: number, width: number, height: number, dx: number, dy: number): Uint8Array {
  const out = new Uint8Array(width * height * 3).fill(118);
  for (let y = 0; y < side; y++) out.set(rgb.subarray(y * side * 3, (y + 1) * side * 3), ((y + dy) * width + dx) * 3);
  return out;
}

const FFMPEG = installedFfmpeg();

describe.runIf(espeakAvailable())('MEAD-style reader', () => {
  const mead = path.join(root, 'mead');
  const W = 200, H = 170, DX = 40, DY = 22, SIDE = 128;
  let people: SpeakClip[];
  /** The fixture read once, for the tests that compare with it. */
  let reading: Promise<ClipSet> | undefined;
  const readFixture = () => (reading ??= readMead(mead, { size: 64 }));
  beforeAll(() => {
    // Two rendered people as real-corpus folders: one in MEAD's frames layout (audio under
    // <actor>/audio), one as a plain clip folder with a labels.json giving head poses.
    people = proceduralClips({ count: 2, seed: 11, size: SIDE, emotions: ['happy', 'sad'], maxFrames: 3 }).clips.filter((_, i) => i === 0 || i === 3);
    const [a, b] = people as [SpeakClip, SpeakClip];
    const framesA = path.join(mead, 'M003', 'frames', 'front', 'happy', 'level_3', '001');
    const framesB = path.join(mead, 'W009', 'sadness', 'level_2', '007');
    for (const [clip, dir] of [[a, framesA], [b, framesB]] as const) {
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < clip.frameCount; i++) writeFileSync(path.join(dir, `${String(i + 1).padStart(3, '0')}.png`), encodePng(onCanvas(clip.frame(i), SIDE, W, H, DX, DY), W, H));
    }
    mkdirSync(path.join(mead, 'M003', 'audio', 'happy', 'level_3'), { recursive: true });
    writeFileSync(path.join(mead, 'M003', 'audio', 'happy', 'level_3', '001.wav'), encodeWav(a.audio));
    writeFileSync(path.join(framesB, 'audio.wav'), encodeWav(b.audio));
    writeFileSync(path.join(framesB, 'labels.json'), JSON.stringify({ frames: b.poses }));
  }, 60_000);

  it('finds the clips of both layouts with the emotion and level of their folders', () => {
    const found = scanMead(mead);
    expect(found.map((s) => [s.id, s.emotion, s.level, s.intensity])).toEqual([
      ['M003/happy/level_3/001', 'happy', 3, 1],
      ['W009/sad/level_2/007', 'sad', 2, 2 / 3],
    ]);
    expect(found[0]!.audio).toBe(path.join(mead, 'M003', 'audio', 'happy', 'level_3', '001.wav'));
    expect(() => scanMead(path.join(root, 'nowhere'))).toThrow(/is not a folder\. Expected MEAD folders/);
    expect(() => scanMead(mead, 'left_30')).toThrow(/M003[/\\]frames: has no "left_30" camera view \(it has front\)/);
  });

  it('crops the real detector\'s face from every frame, with 68 landmarks that fit the true ones, poses where labelled', async () => {
    const set = await readFixture();
    expect(set.identities).toEqual(['M003', 'W009']);
    expect(set.clips.map((c) => [c.id, c.emotion, c.frameCount, c.size])).toEqual([
      ['M003/happy/level_3/001', 'happy', 3, 64],
      ['W009/sad/level_2/007', 'sad', 3, 64],
    ]);
    for (const [k, clip] of set.clips.entries()) {
      const truth = people[k]!;
      expect(Array.from(clip.audio.samples)).toEqual(Array.from(decodeWav(encodeWav(truth.audio)).samples));
      for (let i = 0; i < clip.frameCount; i++) {
        const points = clip.landmarks![i]!;
        expect(points).toHaveLength(136);
        for (const v of points) {
          expect(v).toBeGreaterThan(0);
          expect(v).toBeLessThan(64);
        }
        // The crop shows the face: its middle is skin, not the grey canvas (118).
        const centre = clip.frame(i).subarray((32 * 64 + 32) * 3, (32 * 64 + 32) * 3 + 3);
        expect(Math.abs(centre[0]! - 118) + Math.abs(centre[1]! - 118) + Math.abs(centre[2]! - 118)).toBeGreaterThan(20);
        // The detector's points are the renderer's true ones moved by one similarity (the crop), within 2.5 px at 64 px.
        const trueOnCanvas = truth.landmarks![i]!.map((v, j) => v + (j % 2 === 0 ? DX : DY));
        expect(similarityResidual(trueOnCanvas, points)).toBeLessThan(2.5);
      }
    }
    expect(set.clips[0]!.poses).toBeNull();
    expect(set.clips[1]!.poses).toEqual(people[1]!.poses);
  }, 60_000);

  it('measures head poses with the face mesh where no labels give them', async () => {
    const meter = await FaceMeshMeter.start({ maxFaces: 1 });
    try {
      const set = await readMead(mead, { size: 64, poseMeter: meter, landmarkEvery: 0 });
      const [measured, labelled] = set.clips as [SpeakClip, SpeakClip];
      expect(labelled.poses).toEqual(people[1]!.poses); // labels.json wins
      const truth = people[0]!.poses!;
      // The mesh on a 192 px crop of a rendered face: yaw -5.6 vs the renderer's -10.2, pitch 1.1 vs 8.8
      // (the mesh reads this renderer's pitch low), roll the crop's own (the eyes levelled).
      expect(measured.poses).toHaveLength(3);
      measured.poses!.forEach((pose, i) => {
        expect(Math.sign(pose.yaw)).toBe(Math.sign(truth[i]!.yaw));
        expect(Math.abs(pose.yaw - truth[i]!.yaw)).toBeLessThan(7);
        expect(Math.abs(pose.pitch - truth[i]!.pitch)).toBeLessThan(12);
        expect(Math.abs(pose.roll - truth[i]!.roll)).toBeLessThan(10);
      });
      expect(measured.landmarks).toBeNull();
    } finally {
      await meter.close();
    }
  }, 60_000);

  it('imports the folder once into a corpus that readCorpus reads back the same; a clip with no face stops the read or is skipped', async () => {
    const read = (await readFixture()).clips;
    const out = path.join(root, 'imported');
    const manifest = await importMead(mead, out, { size: 64 });
    expect(manifest.clips.map((c) => [c.path, c.level, c.frames])).toEqual([
      ['M003/happy/level_3/001', 3, 3],
      ['W009/sad/level_2/007', 2, 3],
    ]);
    const back = readCorpus(out);
    for (const [k, clip] of back.clips.entries()) {
      const original = read[k]!;
      expect([clip.id, clip.identity, clip.emotion, clip.intensity]).toEqual([original.id, original.identity, original.emotion, original.intensity]);
      for (let i = 0; i < clip.frameCount; i++) {
        expect(Buffer.from(clip.frame(i)).equals(Buffer.from(original.frame(i)))).toBe(true);
        // Landmarks are kept to 0.01 px in labels.json.
        expect(Math.max(...clip.landmarks![i]!.map((v, j) => Math.abs(v - original.landmarks![i]![j]!)))).toBeLessThanOrEqual(0.005 + 1e-4);
      }
      expect(clip.poses).toEqual(original.poses);
      // Written and read again as 16-bit PCM: within one step (encodeWav scales positives by 32767, decodeWav divides by 32768).
      expect(clip.audio.samples.length).toBe(original.audio.samples.length);
      expect(Math.max(...clip.audio.samples.map((v, j) => Math.abs(v - original.audio.samples[j]!)))).toBeLessThanOrEqual(1 / 32768 + 1e-9);
    }
    await expect(importMead(mead, out)).rejects.toThrow(/imported is not empty: the import goes into a new or empty folder/);

    // An actor whose clip shows only the grey canvas: no face in its first frame.
    const faceless = path.join(root, 'mead-faceless');
    cpSync(path.join(mead, 'W009'), path.join(faceless, 'W009'), { recursive: true });
    const blank = path.join(faceless, 'M001', 'neutral', 'level_1', '001');
    mkdirSync(blank, { recursive: true });
    writeFileSync(path.join(blank, '000.png'), encodePng(new Uint8Array(W * H * 3).fill(118), W, H));
    writeFileSync(path.join(blank, 'audio.wav'), encodeWav(people[0]!.audio));
    await expect(readMead(faceless)).rejects.toThrow(/^Clip M001\/neutral\/level_1\/001: the real detector finds no face in the first frame of .*001\. Remove the clip, or read with onClipSkipped/);
    const skipped: string[] = [];
    const kept = await readMead(faceless, { onClipSkipped: (id) => skipped.push(id), landmarkEvery: 0 });
    expect(skipped).toEqual(['M001/neutral/level_1/001']);
    expect(kept.clips.map((c) => [c.id, c.landmarks])).toEqual([['W009/sad/level_2/007', null]]);
  }, 60_000);

  it('says ffmpeg is missing, and how to install it, when a video needs it', async () => {
    const videos = path.join(root, 'mead-video');
    mkdirSync(path.join(videos, 'M005', 'video', 'front', 'angry', 'level_1'), { recursive: true });
    mkdirSync(path.join(videos, 'M005', 'audio', 'angry', 'level_1'), { recursive: true });
    writeFileSync(path.join(videos, 'M005', 'video', 'front', 'angry', 'level_1', '001.mp4'), 'not decoded');
    writeFileSync(path.join(videos, 'M005', 'audio', 'angry', 'level_1', '001.m4a'), 'not decoded');
    expect(scanMead(videos).map((s) => s.id)).toEqual(['M005/angry/level_1/001']);
    const absent = path.join(root, 'no-such-ffmpeg');
    expect(() => locateFfmpeg(absent)).toThrow(FfmpegMissingError);
    await expect(readMead(videos, { ffmpeg: absent })).rejects.toThrow(
      /^ffmpeg is not installed \(no ".*no-such-ffmpeg" could be run\): reading videos \(\.mp4\) and compressed audio \(\.m4a\) needs it\. Install ffmpeg \(Debian\/Ubuntu: sudo apt-get install ffmpeg/,
    );
  });

  it.runIf(FFMPEG)(`reads MEAD's own layout, an mp4 with an m4a, through ffmpeg${FFMPEG ? '' : ' (skipped: ffmpeg is not installed)'}`, async () => {
    const videos = path.join(root, 'mead-mp4');
    const videoDir = path.join(videos, 'M003', 'video', 'front', 'happy', 'level_3');
    const audioDir = path.join(videos, 'M003', 'audio', 'happy', 'level_3');
    mkdirSync(videoDir, { recursive: true });
    mkdirSync(audioDir, { recursive: true });
    const frames = path.join(mead, 'M003', 'frames', 'front', 'happy', 'level_3', '001');
    const run = (args: string[]) => {
      const done = spawnSync(FFMPEG!, ['-nostdin', '-loglevel', 'error', '-y', ...args]);
      expect(done.status, String(done.stderr)).toBe(0);
    };
    // The frames-folder clip encoded as MEAD ships it: MPEG-4 video at 25 fps, AAC audio in an .m4a.
    run(['-framerate', '25', '-start_number', '1', '-i', path.join(frames, '%03d.png'), '-c:v', 'mpeg4', '-q:v', '1', '-pix_fmt', 'yuv420p', path.join(videoDir, '001.mp4')]);
    run(['-i', path.join(mead, 'M003', 'audio', 'happy', 'level_3', '001.wav'), '-c:a', 'aac', '-b:a', '128k', path.join(audioDir, '001.m4a')]);
    // ffmpeg's frames are the PNGs' pixels, through lossy MPEG-4 and 4:2:0 colour.
    let n = 0;
    for await (const image of videoFrames(path.join(videoDir, '001.mp4'))) {
      const png = decodeImage(readFileSync(path.join(frames, `${String(++n).padStart(3, '0')}.png`)));
      expect([image.width, image.height]).toEqual([W, H]);
      let diff = 0;
      for (let k = 0; k < png.data.length; k++) diff += Math.abs(image.data[k]! - png.data[k]!);
      expect(diff / png.data.length).toBeLessThan(3);
    }
    expect(n).toBe(3);
    // Shrunk to fit a square (aspect kept), never enlarged; cut after two frames.
    const sizes = async (maxSide: number) => {
      const out: number[][] = [];
      for await (const image of videoFrames(path.join(videoDir, '001.mp4'), { maxSide, maxFrames: 2 })) out.push([image.width, image.height]);
      return out;
    };
    expect(await sizes(100)).toEqual([[100, 85], [100, 85]]);
    expect(await sizes(1000)).toEqual([[W, H], [W, H]]);
    const slow = videoFrames(path.join(videoDir, '001.mp4'), { timeoutMs: 1 });
    await expect((async () => { for await (const _ of slow); })()).rejects.toThrow(/^ffmpeg took longer than 1 ms on .*001\.mp4 and was stopped/);
    const [fromVideo] = (await readMead(videos, { size: 64 })).clips;
    const [fromFrames] = (await readFixture()).clips;
    expect([fromVideo!.id, fromVideo!.emotion, fromVideo!.frameCount]).toEqual(['M003/happy/level_3/001', 'happy', 3]);
    for (let i = 0; i < 3; i++) {
      // The same face, cropped and measured again: the points land within a pixel or two of the frames' (the
      // box comes from the compressed first frame, so it moves a little; that shift is all the difference).
      const a = fromVideo!.landmarks![i]!;
      const b = fromFrames!.landmarks![i]!;
      let mean = 0;
      for (let k = 0; k < 68; k++) mean += Math.hypot(a[2 * k]! - b[2 * k]!, a[2 * k + 1]! - b[2 * k + 1]!) / 68;
      expect(mean).toBeLessThan(2);
      expect(similarityResidual(b, a)).toBeLessThan(1);
    }
    // The m4a decodes to 16 kHz mono of the WAV's length (AAC pads a little).
    expect(fromVideo!.audio.sampleRate).toBe(16_000);
    expect(Math.abs(fromVideo!.audio.samples.length / 16_000 - fromFrames!.audio.samples.length / fromFrames!.audio.sampleRate)).toBeLessThan(0.03);
  }, 60_000);
});
