/**
 * The talking-head editor's host side on real files: faces found by the real detector (bundled
 * portrait, uploads, refusals), speech checked before it is kept (silent, unreadable, too short,
 * MP3 without ffmpeg, typed text through espeak-ng), and previews from the shipped model through
 * the editor's worker. Every refusal leaves the editor's folders as they were.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../../main/speak/audio/wav';
import { espeakAvailable } from '../../../main/speak/audio/espeak';
import { decodePngRgb, encodePng } from '../../../main/speak/corpus/png';
import { PORTRAITS_DIR } from '../../../main/speak/editor/identities';
import { resizeImage } from '../../../main/speak/instruments/image-warp';
import { packageDir } from '../../../main/speak/instruments/model-files';
import { SHIPPED_MODEL, TalkingHeadEditor } from '../../../main/speak/editor/talking-head-editor';
import { blinkSchedule } from '../../../main/speak/model/blink';
import { installedFfmpeg } from '../../helpers/ffmpeg';
import { spawnSync } from 'node:child_process';

const files = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true }).map(String).sort() : []);

function tone(seconds: number, amplitude: number, sampleRate = 16000): Buffer {
  const samples = new Float32Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * 220 * i) / sampleRate) * (0.6 + 0.4 * Math.sin((2 * Math.PI * 3 * i) / sampleRate));
  return encodeWav({ sampleRate, samples });
}

describe('talking-head editor input', () => {
  let root: string;
  let editor: TalkingHeadEditor;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-editor-'));
    editor = new TalkingHeadEditor(root);
  });
  afterAll(async () => {
    await editor.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('refuses silent, unreadable, too short and not-audio speech, storing nothing', async () => {
    const speechDir = path.join(root, 'speech');
    const before = files(speechDir);
    await expect(editor.speech.fromFile('quiet.wav', tone(1, 0))).rejects.toThrow(/quiet\.wav is silent \(its loudest sample is -180 dBFS\)/);
    await expect(editor.speech.fromFile('blip.wav', tone(0.1, 0.5))).rejects.toThrow(/blip\.wav lasts 0\.10 s; speech needs at least 0\.2 s/);
    const cut = tone(1, 0.5).subarray(0, 30);
    await expect(editor.speech.fromFile('cut.wav', cut)).rejects.toThrow(/cut\.wav cannot be read: it is cut short or damaged/);
    await expect(editor.speech.fromFile('notes.txt', Buffer.from('hello there, not audio'))).rejects.toThrow(/notes\.txt is neither a WAV nor an MP3 file/);
    await expect(editor.speech.fromFile('empty.wav', Buffer.alloc(0))).rejects.toThrow(/empty\.wav is empty/);
    // Longer than one generation holds in memory.
    await expect(editor.speech.fromFile('lecture.wav', tone(601, 0.5, 4000))).rejects.toThrow(/lecture\.wav lasts 601 s; one clip takes at most 600 s of speech/);
    // An MP3 (ID3 tag): decoded by ffmpeg where it is installed, else refused saying how to install it.
    const mp3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(64)]);
    await expect(editor.speech.fromFile('song.mp3', mp3)).rejects.toThrow(/song\.mp3 (is an MP3, which needs ffmpeg to decode, and ffmpeg is not installed here\. Install it|cannot be read as MP3)/);
    expect(files(speechDir)).toEqual(before);
    // A real one is kept, with its length and waveform peaks.
    const kept = await editor.speech.fromFile('tone.wav', tone(1.2, 0.5));
    expect(kept.seconds).toBeCloseTo(1.2, 3);
    expect(kept.peaks).toHaveLength(400);
    expect(Math.max(...kept.peaks)).toBeGreaterThan(0.45);
    expect(files(speechDir)).toEqual([`${kept.id}.json`, `${kept.id}.wav`].sort());
    // A real MP3 (made by ffmpeg from a 1.5 s tone) decodes where ffmpeg is installed.
    const ffmpeg = installedFfmpeg();
    if (ffmpeg) {
      const wav = path.join(root, 'tone-for-mp3.wav');
      fs.writeFileSync(wav, tone(1.5, 0.5));
      const made = spawnSync(ffmpeg, ['-nostdin', '-loglevel', 'error', '-i', wav, '-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3', 'pipe:1'], { timeout: 30_000, maxBuffer: 1 << 24 });
      fs.rmSync(wav);
      const decoded = await editor.speech.fromFile('tone.mp3', made.stdout);
      expect(Math.abs(decoded.seconds - 1.5)).toBeLessThan(0.1);
      expect(Math.max(...decoded.peaks)).toBeGreaterThan(0.4);
    }
  });

  it.skipIf(!espeakAvailable())('speaks a typed sentence with espeak-ng', () => {
    const speech = editor.speech.fromText('Hello, how are you today?');
    expect(speech.source).toBe('text');
    expect(speech.seconds).toBeGreaterThan(1);
    expect(speech.seconds).toBeLessThan(3);
    expect(speech.sampleRate).toBe(22050);
    expect(() => editor.speech.fromText('   ')).toThrow(/Nothing to say: the sentence is empty/);
  });

  it('lists corpus faces and the bundled portrait, cropped by the real detector with its crop box', async () => {
    const faces = await editor.identities(SHIPPED_MODEL);
    expect(faces.filter((f) => f.source === 'corpus').map((f) => f.id)).toEqual(['corpus-0', 'corpus-1', 'corpus-2', 'corpus-3']);
    const astronaut = faces.find((f) => f.id === 'portrait-astronaut')!;
    expect(astronaut.licence).toMatch(/public domain/);
    expect(astronaut.size).toBe(64);
    expect(astronaut.landmarks).toHaveLength(136);
    expect(astronaut.photo).toMatchObject({ width: 512, height: 512 });
    // The crop box lies on the face in the 512 px photo (her face is upper middle-left of centre).
    const box = astronaut.cropBox!;
    expect(box.centre[0]).toBeGreaterThan(150);
    expect(box.centre[0]).toBeLessThan(300);
    expect(box.centre[1]).toBeGreaterThan(60);
    expect(box.centre[1]).toBeLessThan(220);
    expect(box.side).toBeGreaterThan(100);
    expect(box.side).toBeLessThan(320);
  }, 120_000);

  it('refuses an image without a face, a group photo, a face too small and a file that is not an image, storing nothing', async () => {
    await editor.identities(SHIPPED_MODEL);
    const facesDir = path.join(root, 'faces');
    const before = files(facesDir);
    const gradient = new Uint8Array(320 * 240 * 3);
    for (let y = 0; y < 240; y++) for (let x = 0; x < 320; x++) gradient.set([x * 0.8, y, 128], (y * 320 + x) * 3);
    await expect(editor.uploadFace(SHIPPED_MODEL, 'wall.png', encodePng(gradient, 320, 240))).rejects.toThrow(/No usable face in wall\.png: No face was found in this 320x240 image/);
    const group = fs.readFileSync(path.join(packageDir('@vladmandic/face-api'), 'demo', 'sample2.jpg'));
    await expect(editor.uploadFace(SHIPPED_MODEL, 'group.jpg', group)).rejects.toThrow(/No usable face in group\.jpg: \d faces were found in this image/);
    // The bundled portrait shrunk to 200 px: her face is then about 50 px wide.
    const photo = decodePngRgb(fs.readFileSync(path.join(PORTRAITS_DIR, 'astronaut.png')));
    const tiny = resizeImage({ width: photo.width, height: photo.height, data: photo.rgb }, 200, 200);
    await expect(editor.uploadFace(SHIPPED_MODEL, 'tiny.png', encodePng(tiny.data, 200, 200))).rejects.toThrow(/No usable face in tiny\.png: The face is too small: \d+x\d+ pixels, and at least 64 pixels wide is needed/);
    await expect(editor.uploadFace(SHIPPED_MODEL, 'notes.txt', Buffer.from('not an image at all'))).rejects.toThrow(/notes\.txt is not a PNG or JPEG image/);
    await expect(editor.uploadFace(SHIPPED_MODEL, 'huge.jpg', Buffer.alloc(800 * 1024))).rejects.toThrow(/huge\.jpg is 800 KB; photos up to 700 KB/);
    expect(files(facesDir)).toEqual(before);
  }, 120_000);

  it('previews a face from the cached model in one forward pass; the pose changes the frame; out-of-range pose refused', async () => {
    const speech = await editor.speech.fromFile('tone.wav', tone(1.2, 0.5));
    const settings = { model: SHIPPED_MODEL, identityId: 'corpus-0', speechId: speech.id, time: 0.5, emotion: { weights: { happy: 0.8, neutral: 0.2 }, intensity: 0.8 }, pose: { yaw: 0, pitch: 0, roll: 0 }, seed: 1, blinks: 0, motion: 'absolute' as const };
    await editor.identities(SHIPPED_MODEL);
    const first = await editor.preview(settings);
    expect(first.loaded).toEqual(expect.arrayContaining(['model', 'face', 'speech']));
    expect(first.size).toBe(64);
    const again = await editor.preview(settings);
    expect(again.loaded).toEqual([]); // all cached: one forward pass
    expect(again.png.equals(first.png)).toBe(true); // same settings, same seed: the same frame
    const turned = await editor.preview({ ...settings, pose: { yaw: 20, pitch: 0, roll: 0 } });
    expect(turned.png.equals(first.png)).toBe(false);
    // Posed motion (the face turned by geometry) is another preparation of the face and another frame.
    const posed = await editor.preview({ ...settings, pose: { yaw: 20, pitch: 0, roll: 0 }, motion: 'posed' });
    expect(posed.loaded).toEqual(['face']);
    expect(posed.png.equals(turned.png)).toBe(false);
    // The blink rate: at a time the seed's schedule has the eyes shut the frame changes; at an open one it does not.
    const schedule = blinkSchedule(30, 60, settings.seed); // 1.2 s of speech; at 60 a minute the first blink is within 1 s
    const [shut, open] = [schedule.indexOf(1), schedule.indexOf(0)];
    const at = (frame: number, blinks: number) => editor.preview({ ...settings, time: frame / 25, blinks });
    expect((await at(shut, 60)).png.equals((await at(shut, 0)).png)).toBe(false);
    expect((await at(open, 60)).png.equals((await at(open, 0)).png)).toBe(true);
    const times = [];
    for (let i = 0; i < 5; i++) times.push((await editor.preview({ ...settings, pose: { yaw: i * 4, pitch: 0, roll: 0 } })).hostMs);
    console.log(`[speak-editor] preview host latency, 5 cached calls: ${times.map((t) => t.toFixed(0)).join(', ')} ms; forward ${again.forwardMs.toFixed(0)} ms`);
    await expect(editor.preview({ ...settings, pose: { yaw: 45, pitch: 0, roll: 0 } })).rejects.toThrow(/yaw 45 degrees is outside the model's range \(-30\.\.30\)/);
    await expect(editor.preview({ ...settings, identityId: 'upload-nothere' })).rejects.toThrow(/No face with id upload-nothere/);
  }, 120_000);
});
