/**
 * face-api on the studio's tfjs-core (its node-wasm build with @tensorflow/tfjs resolved to
 * tfjs-core, plus our tensor methods) gives what face-api gives on its own: the reference is the
 * package's self-contained build (face-api.esm.js, its bundled tfjs, cpu backend), run in a child
 * process so its tfjs cannot meet ours. Checked on the nets after the detector (landmarks,
 * descriptor, expressions) on one face: the reference's cpu backend makes its SSD pass slow.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { detectFaces } from '../../../main/speak/instruments/detect-faces';
import { loadFaceApi } from '../../../main/speak/instruments/face-api-runtime';
import { descriptorDistance } from '../../../main/speak/instruments/identity';
import { imageTensor, readImage } from '../../../main/speak/instruments/image-input';
import { cropImage } from '../../../main/speak/instruments/image-warp';
import { packageDir } from '../../../main/speak/instruments/model-files';

function faceApiDir(): string | null {
  try {
    return packageDir('@vladmandic/face-api');
  } catch {
    return null;
  }
}
const FACE_API = faceApiDir();

/** Runs in the child: face-api.esm.js with its own tfjs on 'cpu'; tfjs-core only lends its Node platform (the bundle lacks `util`). */
const REFERENCE = `
import { createRequire } from 'node:module';
import fs from 'node:fs';
const [faceApiDir, imageFile] = process.argv.slice(1);
const require = createRequire(faceApiDir + '/package.json');
const tf = require('@tensorflow/tfjs-core');
tf.env().set('PROD', true);
tf.env().set('IS_NODE', false);
const faceapi = await import(faceApiDir + '/dist/face-api.esm.js');
tf.env().set('IS_NODE', true);
await faceapi.tf.setBackend('cpu');
const files = { faceLandmark68Net: 'face_landmark_68_model', faceRecognitionNet: 'face_recognition_model', faceExpressionNet: 'face_expression_model' };
for (const [net, name] of Object.entries(files)) {
  const manifest = JSON.parse(fs.readFileSync(faceApiDir + '/model/' + name + '-weights_manifest.json', 'utf8'));
  const bytes = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(faceApiDir + '/model/' + p))));
  faceapi.nets[net].loadFromWeightMap(faceapi.tf.io.decodeWeights(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), manifest.flatMap((g) => g.weights)));
}
const png = require('pngjs').PNG.sync.read(fs.readFileSync(imageFile));
const rgb = new Int32Array(png.width * png.height * 3);
for (let i = 0; i < png.width * png.height; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = png.data[i * 4 + c];
const input = faceapi.tf.tensor3d(rgb, [png.height, png.width, 3], 'int32');
const landmarks = await faceapi.nets.faceLandmark68Net.detectLandmarks(input);
const descriptor = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input);
const expressions = await faceapi.nets.faceExpressionNet.predictExpressions(input);
process.stdout.write(JSON.stringify({ landmarks: landmarks.positions.map((p) => [p.x, p.y]), descriptor: Array.from(descriptor), expressions }));
`;

describe.skipIf(!FACE_API)('face-api on our tfjs-core', () => {
  it('matches face-api\'s own bundled build: same landmarks, descriptor and expressions on a real face', async () => {
    // The nets after the detector, on one face of a demo photo (the reference's cpu backend is slow).
    const photo = await readImage(path.join(FACE_API!, 'demo', 'sample3.jpg'));
    const [face] = await detectFaces(photo);
    const { x, y, width, height } = face!.box;
    const region = cropImage(photo, Math.round(x), Math.round(y), Math.round(width), Math.round(height));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'face-ref-')), 'face.png');
    const png = new PNG({ width: region.width, height: region.height });
    for (let i = 0; i < region.width * region.height; i++) png.data.set([region.data[i * 3]!, region.data[i * 3 + 1]!, region.data[i * 3 + 2]!, 255], i * 4);
    fs.writeFileSync(file, PNG.sync.write(png));
    const reference = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', REFERENCE, FACE_API!, file], { encoding: 'utf8', timeout: 120_000 })) as {
      landmarks: [number, number][];
      descriptor: number[];
      expressions: Record<string, number>;
    };
    const { api } = await loadFaceApi();
    const input = imageTensor(region);
    const landmarks = (await api.nets.faceLandmark68Net.detectLandmarks(input)) as { positions: { x: number; y: number }[] };
    const descriptor = await api.nets.faceRecognitionNet.computeFaceDescriptor(input);
    const expressions = (await api.nets.faceExpressionNet.predictExpressions(input)) as Record<string, number>;
    input.dispose();
    // A face is there: the eyes sit in the upper half, left of right.
    expect(reference.landmarks[36]![0]).toBeLessThan(reference.landmarks[45]![0]);
    expect(reference.landmarks[36]![1]).toBeLessThan(region.height / 2);
    for (let i = 0; i < 68; i++) {
      const [px, py] = reference.landmarks[i]!;
      expect(Math.hypot(landmarks.positions[i]!.x - px, landmarks.positions[i]!.y - py)).toBeLessThan(0.01);
    }
    expect(descriptorDistance(descriptor, reference.descriptor)).toBeLessThan(1e-4);
    for (const [name, p] of Object.entries(reference.expressions)) expect(expressions[name]).toBeCloseTo(p, 4);
  }, 150_000);
});
