/**
 * Object-detection engine (issue 16) on wasm: boxes, NMS and mAP against hand computations, the
 * MNIST-on-canvas data and the COCO/VOC readers, the FCOS detector's shapes and targets, gradient
 * isolation of the local methods' modules (DGL-style heads and GLCAN's local FPN with its shared
 * global head), end-to-end reach, learning on real digits, and no tensor leaks.
 */
import '@tensorflow/tfjs-layers';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../../main/engine/backend/select';
import { centerness, decodeDistances, type Detection, encodeDistances, iou, type LabelledBox, nms } from '../../../main/engine/tasks/detection/boxes';
import { buildMnistDetectionSet, detectionBatches, type DetectionSet } from '../../../main/engine/tasks/detection/det-data';
import { loadFolderDetectionSet, readCocoFolder, readVocFolder } from '../../../main/engine/tasks/detection/det-readers';
import { createDetOptimizer, type DetMethod, DetTrainer, detect, evaluateDetection } from '../../../main/engine/tasks/detection/det-trainer';
import { createDetector, type DetectorConfig, type DetFlow, describeDetector, DetectorConfigError, upsampleTo } from '../../../main/engine/tasks/detection/detector';
import { assignTargets, decodeDetections, fcosLoss, focalLossSum, giouLoss } from '../../../main/engine/tasks/detection/fcos';
import { slmPlan } from '../../../main/engine/tasks/detection/glcan-det';
import { classAp, meanAveragePrecision } from '../../../main/engine/tasks/detection/map';

const TINY: DetectorConfig = { channels: 1, classes: 10, widths: [8, 8, 12, 12], blocksPerStage: 1, fpn: 8, towerConvs: 1, rangeScale: 2 };

const read = (t: tf.Tensor) => Array.from(t.dataSync());
const nonZero = (t: tf.Tensor | undefined) => t !== undefined && read(t).some((v) => v !== 0);
const allZero = (t: tf.Tensor | undefined) => t === undefined || read(t).every((v) => v === 0);
const box = (x1: number, y1: number, x2: number, y2: number, label = 0): LabelledBox => ({ x1, y1, x2, y2, label });
const det = (b: LabelledBox, score: number): Detection => ({ ...b, score });

/** The constant inputs each module of `trainer` receives in a step (module i-1's output and the taps so far). */
function moduleInputs(trainer: DetTrainer, images: tf.Tensor4D, boxes: LabelledBox[][]): DetFlow[] {
  const flows: DetFlow[] = [{ h: images, taps: [null, null, null] }];
  for (let i = 0; i < trainer.modules.length - 1; i++) {
    const { loss, next } = trainer.moduleObjective(i, flows[i]!, boxes, images.shape[1]);
    loss.dispose();
    flows.push(next!);
  }
  return flows;
}

describe('detection engine', () => {
  let digits: DetectionSet;
  let scratch: string;

  beforeAll(async () => {
    await selectBackend('wasm');
    digits = await buildMnistDetectionSet({ train: 48, test: 16, seed: 3 });
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'det-readers-'));
    // Decoding MNIST's JSON takes a few seconds on a busy machine.
  }, 120_000);
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('IoU, the distance encoding round trip, centerness and NMS equal hand computations', () => {
    // 10x10 boxes overlapping by 5x10: IoU = 50 / 150.
    expect(iou(box(0, 0, 10, 10), box(5, 0, 15, 10))).toBeCloseTo(1 / 3, 12);
    expect(iou(box(0, 0, 10, 10), box(10, 0, 20, 10))).toBe(0);
    const b = box(3.5, 7, 20.25, 31);
    const d = encodeDistances(b, 12, 20);
    expect(d).toEqual([8.5, 13, 8.25, 11]);
    expect(decodeDistances(d, 12, 20)).toEqual({ x1: 3.5, y1: 7, x2: 20.25, y2: 31 });
    expect(centerness([4, 2, 4, 8])).toBeCloseTo(Math.sqrt(1 * 0.25), 12);
    const dets = [det(box(0, 0, 10, 10), 0.9), det(box(1, 0, 11, 10), 0.8), det(box(1, 0, 11, 10, 1), 0.7), det(box(20, 20, 30, 30), 0.6), det(box(6, 0, 16, 10), 0.5)];
    // 0.8 overlaps 0.9 by IoU 9/11 > 0.5 (dropped); 0.7 is another class; 0.5 overlaps 0.9 by 4/16 and 0.8 is gone.
    expect(nms(dets, 0.5).map((x) => x.score)).toEqual([0.9, 0.7, 0.6, 0.5]);
    expect(nms(dets, 0.2).map((x) => x.score)).toEqual([0.9, 0.7, 0.6]);
    expect(nms(dets, 0.5, 2).map((x) => x.score)).toEqual([0.9, 0.7]);
  });

  it('mAP@0.5 and COCO mAP@[.5:.95] equal hand-computed cases (101-point interpolation)', () => {
    // Class 0, two truths in two images; detections by score: 0.9 hit, 0.8 miss, 0.7 hit.
    // recall .5 .5 1, precision 1 .5 .667 -> monotone 1 .667 .667; 51 recall points read 1, 50 read 2/3.
    const images = [
      { truth: [box(0, 0, 10, 10)], detections: [det(box(0, 0, 10, 10), 0.9), det(box(30, 30, 40, 40), 0.8)] },
      { truth: [box(5, 5, 25, 25)], detections: [det(box(5, 5, 25, 25), 0.7)] },
    ];
    const expected = (51 + (50 * 2) / 3) / 101;
    expect(classAp(images, 0, 0.5)).toBeCloseTo(expected, 12);
    // A detection of IoU 0.72 (10x10 truth, 10x7.2 box inside it) is a hit at 0.5..0.7 and a miss at 0.75..0.95.
    const shifted = [{ truth: [box(0, 0, 10, 10, 1)], detections: [det(box(0, 0, 10, 7.2, 1), 0.5)] }];
    expect(iou(box(0, 0, 10, 10), box(0, 0, 10, 7.2))).toBeCloseTo(0.72, 12);
    const one = meanAveragePrecision(shifted, 2);
    expect(one.perClass[0]).toBeNull(); // no truth of class 0: left out of the mean
    expect(one.map50).toBe(1);
    expect(one.map).toBeCloseTo(0.5, 12);
    // Both together: class 0 = `expected` at every threshold (its hits are exact), class 1 as above.
    const both = meanAveragePrecision([...images, ...shifted], 2);
    expect(both.map50).toBeCloseTo((expected + 1) / 2, 12);
    expect(both.map).toBeCloseTo((expected + 0.5) / 2, 12);
    // A truth matched twice: the second detection is a false positive (greedy, highest IoU first).
    const twice = [{ truth: [box(0, 0, 10, 10)], detections: [det(box(0, 0, 10, 10), 0.9), det(box(0, 0, 10, 9), 0.95)] }];
    // 0.95 (IoU .9) takes the truth, 0.9 is a miss: precision 1, .5 at recall 1, 1 -> AP 1.
    expect(classAp(twice, 0, 0.5)).toBe(1);
    // Only a miss before the hit: precision .5 at recall 1 everywhere -> AP .5.
    const late = [{ truth: [box(0, 0, 10, 10)], detections: [det(box(50, 50, 60, 60), 0.9), det(box(0, 0, 10, 10), 0.1)] }];
    expect(classAp(late, 0, 0.5)).toBeCloseTo(0.5, 12);
    expect(() => meanAveragePrecision([{ truth: [], detections: [] }], 2)).toThrow(/ground-truth/);
  });

  it('MNIST canvases: real digits inside their boxes, no heavy overlap, reproducible by seed', async () => {
    expect(digits.train).toHaveLength(48);
    expect(digits.classes).toHaveLength(10);
    let boxes = 0;
    for (const { image, boxes: truth } of [...digits.train, ...digits.test]) {
      expect(truth.length).toBeGreaterThanOrEqual(1);
      expect(truth.length).toBeLessThanOrEqual(4);
      boxes += truth.length;
      for (const b of truth) {
        expect(b.x1).toBeGreaterThanOrEqual(0);
        expect(b.x2).toBeLessThanOrEqual(64);
        expect(b.y2 - b.y1).toBeGreaterThanOrEqual(14);
        expect(b.y2 - b.y1).toBeLessThanOrEqual(36);
        for (const other of truth) if (other !== b) expect(iou(b, other)).toBeLessThanOrEqual(0.1);
      }
      // Every inked pixel lies in some box (boxes are the digits' tight ink boxes), and every box has ink.
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          if (image.data[y * 64 + x]! > 0) expect(truth.some((b) => x >= b.x1 && x < b.x2 && y >= b.y1 && y < b.y2), `ink at ${x},${y}`).toBe(true);
        }
      }
      for (const b of truth) {
        let ink = 0;
        for (let y = b.y1; y < b.y2; y++) for (let x = b.x1; x < b.x2; x++) ink = Math.max(ink, image.data[y * 64 + x]!);
        expect(ink).toBeGreaterThan(100);
      }
    }
    expect(boxes / 64).toBeGreaterThan(1.8); // 1-4 digits per canvas: about 2.5 on average
    const again = await buildMnistDetectionSet({ train: 48, test: 16, seed: 3 });
    expect(again.train.map((s) => s.boxes)).toEqual(digits.train.map((s) => s.boxes));
    expect(Buffer.from(again.test[5]!.image.data).equals(Buffer.from(digits.test[5]!.image.data))).toBe(true);
    const other = await buildMnistDetectionSet({ train: 48, test: 16, seed: 4 });
    expect(other.train.map((s) => s.boxes)).not.toEqual(digits.train.map((s) => s.boxes));
    await expect(buildMnistDetectionSet({ digitSize: [40, 20] })).rejects.toThrow(/low first/);
    // Batches: seeded, every sample once per pass.
    const next = detectionBatches(digits.train, 16, 9);
    const seen = [next(), next(), next()];
    expect(seen[0]!.images.shape).toEqual([16, 64, 64, 1]);
    expect(new Set(seen.flatMap((s) => s.boxes)).size).toBe(48);
    const replay = detectionBatches(digits.train, 16, 9)();
    expect(read(replay.images)).toEqual(read(seen[0]!.images));
    tf.dispose([...seen.map((s) => s.images), replay.images]);
  });

  it('reads COCO and VOC folders and refuses bad files naming the file and the problem', async () => {
    const png = (file: string, w: number, h: number) => {
      const image = new PNG({ width: w, height: h });
      image.data.fill(200);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, PNG.sync.write(image));
    };
    // COCO: two images, category ids 7 and 3 (classes in id order: cat, dog), one crowd box left out.
    const coco = path.join(scratch, 'coco');
    png(path.join(coco, 'a.png'), 40, 30);
    png(path.join(coco, 'images', 'b.png'), 50, 50);
    const annotations = {
      images: [{ id: 1, file_name: 'a.png', width: 40, height: 30 }, { id: 2, file_name: 'b.png', width: 50, height: 50 }],
      categories: [{ id: 7, name: 'dog' }, { id: 3, name: 'cat' }],
      annotations: [
        { image_id: 1, category_id: 7, bbox: [4, 5, 10, 20] },
        { image_id: 2, category_id: 3, bbox: [0, 0, 50, 50] },
        { image_id: 2, category_id: 7, bbox: [1, 1, 5, 5], iscrowd: 1 },
      ],
    };
    const write = (value: unknown) => fs.writeFileSync(path.join(coco, 'annotations.json'), JSON.stringify(value));
    write(annotations);
    const read1 = readCocoFolder(coco);
    expect(read1.classes).toEqual(['cat', 'dog']);
    expect(read1.items.map((i) => i.boxes)).toEqual([[box(4, 5, 14, 25, 1)], [box(0, 0, 50, 50, 0)]]);
    const loaded = await loadFolderDetectionSet(read1, { size: 32, testFraction: 0.5, seed: 1 });
    expect([loaded.train.length, loaded.test.length, loaded.channels]).toEqual([1, 1, 3]);
    const scaled = [...loaded.train, ...loaded.test].find((s) => s.boxes[0]!.label === 1)!;
    expect(scaled.boxes[0]).toEqual(box(4 * (32 / 40), 5 * (32 / 30), 14 * (32 / 40), 25 * (32 / 30), 1));
    const file = path.join(coco, 'annotations.json');
    const refuse = (value: unknown, pattern: RegExp) => {
      write(value);
      expect(() => readCocoFolder(coco)).toThrow(pattern);
    };
    refuse({ ...annotations, annotations: [{ image_id: 1, category_id: 7, bbox: [4, 5, -1, 20] }] }, new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: annotations\\[0\\].*width and height must be positive`));
    refuse({ ...annotations, annotations: [{ image_id: 9, category_id: 7, bbox: [4, 5, 1, 2] }] }, /annotations\.json: annotations\[0\] is for image id 9/);
    refuse({ ...annotations, annotations: [{ image_id: 1, category_id: 5, bbox: [4, 5, 1, 2] }] }, /category id 5, which "categories" does not list/);
    refuse({ ...annotations, annotations: [{ image_id: 1, category_id: 7, bbox: [30, 5, 20, 2] }] }, /outside the 40x30 image/);
    refuse({ ...annotations, images: [{ id: 1, file_name: 'missing.png', width: 40, height: 30 }] }, /annotations\.json: names the image missing\.png/);
    refuse({ ...annotations, images: [{ id: 1, file_name: 'a.png', width: 41, height: 30 }] }, /a\.png: is 40x30 but annotations\.json says 41x30/);
    refuse({ images: [] }, /has no "annotations" list/);
    fs.writeFileSync(file, '{"images": [');
    expect(() => readCocoFolder(coco)).toThrow(/annotations\.json: is not valid JSON/);
    expect(() => readCocoFolder(path.join(scratch, 'nowhere'))).toThrow(/nowhere: is not a folder/);

    // VOC: 1-based inclusive pixel boxes; a difficult object is left out.
    const voc = path.join(scratch, 'voc');
    png(path.join(voc, 'JPEGImages', 'x.png'), 20, 20);
    const xml = (objects: string, size = '<width>20</width><height>20</height>') =>
      `<annotation><filename>x.png</filename><size>${size}<depth>3</depth></size>${objects}</annotation>`;
    const obj = (name: string, b: string, difficult = 0) => `<object><name>${name}</name><difficult>${difficult}</difficult><bndbox>${b}</bndbox></object>`;
    const xmlFile = path.join(voc, 'Annotations', 'x.xml');
    fs.mkdirSync(path.dirname(xmlFile), { recursive: true });
    fs.writeFileSync(xmlFile, xml(obj('person', '<xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>20</ymax>') + obj('car', '<xmin>3</xmin><ymin>3</ymin><xmax>5</xmax><ymax>5</ymax>', 1)));
    const vocRead = readVocFolder(voc);
    expect(vocRead.classes).toEqual(['car', 'person']);
    expect(vocRead.items[0]!.boxes).toEqual([box(0, 1, 10, 20, 1)]);
    const refuseXml = (content: string, pattern: RegExp) => {
      fs.writeFileSync(xmlFile, content);
      expect(() => readVocFolder(voc)).toThrow(pattern);
    };
    refuseXml(xml(obj('person', '<xmin>1</xmin><ymin>2</ymin><xmax>ten</xmax><ymax>20</ymax>')), /x\.xml: object 1 \(person\) has no number in <xmax>/);
    refuseXml(xml(obj('person', '<xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>20</ymax>')), /x\.xml: object 1 \(person\): the box .*outside the 20x20 image/);
    refuseXml(xml('<object><name>p</name></object>'), /object 1 \(p\) has no <bndbox>/);
    refuseXml(xml('', '<width>0</width>'), /no positive whole <width> and <height>/);
    refuseXml('<html></html>', /x\.xml: is not a Pascal VOC annotation/);
    expect(() => readVocFolder(coco)).toThrow(/coco: has no Annotations folder/);
  });

  it('the detector: P3-P5 outputs, described units and parameters match the built net, bad settings refused', () => {
    const model = createDetector(TINY, 1);
    const units = describeDetector(TINY, 64);
    expect(units.map((u) => `${u.kind}${u.stage}:${u.stride}:${u.tap ?? '-'}`)).toEqual(['stem1:2:-', 'block2:4:-', 'block3:8:3', 'block4:16:4', 'block5:32:5', 'tail6:0:-']);
    expect(model.trainableVariables().reduce((s, v) => s + v.size, 0)).toBe(units.reduce((s, u) => s + u.params, 0));
    const out = model.forward(tf.zeros([2, 64, 64, 1]) as tf.Tensor4D, false);
    // 8x8 + 4x4 + 2x2 locations.
    expect(out.cls.shape).toEqual([2, 84, 10]);
    expect(out.reg.shape).toEqual([2, 84, 4]);
    expect(out.ctr.shape).toEqual([2, 84]);
    expect(read(tf.min(out.reg))[0]).toBeGreaterThan(0);
    tf.dispose([out.cls, out.reg, out.ctr]);
    // 96 px and 80 px: 12/6/3 and 10/5/3 maps (the FPN crops its upsampled maps).
    const wide = createDetector({ ...TINY, blocksPerStage: 2 }, 1);
    expect(describeDetector(wide.config, 80).filter((u) => u.tap).map((u) => u.output[0])).toEqual([10, 5, 3]);
    const odd = wide.forward(tf.zeros([1, 80, 80, 1]) as tf.Tensor4D, false);
    expect(odd.cls.shape).toEqual([1, 100 + 25 + 9, 10]);
    tf.dispose([odd.cls, odd.reg, odd.ctr]);
    const up = upsampleTo(tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]), 3, 4);
    expect(read(up)).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4]);
    // ResNet-34's layout per stage; a module ending inside stage 3 gets an SLM block finishing it, then one per later stage.
    const r34 = describeDetector({ ...TINY, blocksPerStage: [3, 4, 6, 3] }, 64);
    expect(r34.filter((u) => u.kind === 'block').map((u) => u.stage).join('')).toBe('2223333444444555');
    expect(r34.filter((u) => u.tap).map((u) => `${u.stage}.${u.block}`)).toEqual(['3.3', '4.5', '5.2']);
    expect(slmPlan({ ...TINY, blocksPerStage: [3, 4, 6, 3] }, r34[5]!).map((p) => `${p.stage}${p.first ? 's' : ''}:${p.inChannels}>${p.width}`)).toEqual(['3:8>8', '4s:8>12', '5s:12>12']);
    expect(() => createDetector({ ...TINY, widths: [8, 8] as unknown as DetectorConfig['widths'] }, 0)).toThrow(DetectorConfigError);
    expect(() => createDetector({ ...TINY, blocksPerStage: [1, 2] as unknown as DetectorConfig['blocksPerStage'] }, 0)).toThrow(/four of them/);
    expect(() => describeDetector(TINY, 16)).toThrow(/at least 32 px/);
    tf.dispose(up);
    model.dispose();
    wide.dispose();
  });

  it('FCOS targets: a location is positive inside the box, near its centre, on the level whose range holds the box', () => {
    const model = createDetector(TINY, 1);
    // A 16 px box centred on the P3 location (28, 28): only that location lies strictly inside on P3
    // (20 and 36 touch the edges); its reach 8 is in P3's (0, 16]. On P4 the location (24, 24)
    // is inside but its reach 12 is not in (16, 32].
    const t = assignTargets([[box(20, 20, 36, 36, 7)]], model.levels, 64);
    expect(t.positives).toBe(1);
    expect(t.labels[3 * 8 + 3]).toBe(7);
    expect(Array.from(t.distances.subarray(27 * 4, 28 * 4))).toEqual([8, 8, 8, 8]);
    expect(t.centerness[27]).toBe(1);
    // A 40 px box: its centre locations reach beyond 16, so P4/P5 take it, never P3.
    const big = assignTargets([[box(4, 4, 44, 44, 2)]], model.levels, 64);
    expect(big.positives).toBeGreaterThan(0);
    expect(Array.from(big.labels.subarray(0, 64)).every((l) => l === -1)).toBe(true);
    // Loss: finite, and lower for a prediction of the right boxes than for the untrained net's.
    const images = tf.zeros([1, 64, 64, 1]) as tf.Tensor4D;
    const pred = model.forward(images, true);
    const loss = fcosLoss(pred, t);
    expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
    tf.dispose([pred.cls, pred.reg, pred.ctr, loss, images]);
    model.dispose();
  });

  it('focal and GIoU losses equal hand computations; decoding turns a confident location into its box, NMS drops its twin', () => {
    // Logit 0: p = 0.5, BCE = log 2, (1 - p_t)^2 = 0.25; alpha_t 0.25 for a positive, 0.75 for a negative.
    const focal = focalLossSum(tf.tensor1d([0, 0]), tf.tensor1d([1, 0]));
    expect(focal.dataSync()[0]).toBeCloseTo((0.25 + 0.75) * 0.25 * Math.log(2), 6);
    // Distances (2,2,2,2) vs (1,1,1,1) around one point: IoU 4 / 16, the enclosing box is the union: 1 - GIoU = 0.75.
    const giou = giouLoss(tf.tensor2d([[2, 2, 2, 2], [1, 3, 1, 1]]), tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 3]]));
    // Second: boxes 2x4 (x -1..1, y -3..1) and 2x4 (y -1..3): intersection 2x2, union 12, enclosing 2x6 = 12.
    expect(read(giou).map((v) => Number(v.toFixed(6)))).toEqual([0.75, Number((1 - 4 / 12).toFixed(6))]);
    // One level of stride 32 on 64 px: locations (16,16), (48,16), (16,48), (48,48).
    const cls = tf.fill([1, 4, 3], -10).arraySync() as number[][][];
    cls[0]![3]![2] = 10;
    cls[0]![0]![2] = 8; // a weaker twin at (16, 16) predicting nearly the same box
    const reg = [[[8, 8, 42, 40], [1, 1, 1, 1], [1, 1, 1, 1], [40, 40, 10, 10]]];
    const pred = { cls: tf.tensor3d(cls), reg: tf.tensor3d(reg), ctr: tf.tensor2d([[10, -10, -10, 10]]) };
    const [found] = decodeDetections(pred, [{ stride: 32, min: 0, max: Infinity }], 64);
    expect(found).toHaveLength(1);
    expect(found![0]).toMatchObject({ x1: 8, y1: 8, x2: 58, y2: 58, label: 2 });
    const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
    expect(found![0]!.score).toBeCloseTo(Math.sqrt(sigmoid(10) * sigmoid(10)), 6);
    // The twin's box (8, 8, 58, 56) overlaps by IoU 0.96: NMS at 0.6 drops it, at 1 keeps it; clipped to the image.
    const [both] = decodeDetections(pred, [{ stride: 32, min: 0, max: Infinity }], 64, { nmsIou: 1 });
    expect(both!.map((d) => [d.x1, d.y1, d.x2, d.y2])).toEqual([[8, 8, 58, 58], [8, 8, 58, 56]]);
    reg[0]![3] = [40, 40, 30, 30];
    const clipped = { ...pred, reg: tf.tensor3d(reg) };
    expect(decodeDetections(clipped, [{ stride: 32, min: 0, max: Infinity }], 64)[0]![0]).toMatchObject({ x1: 8, y1: 8, x2: 64, y2: 64 });
    clipped.reg.dispose();
    tf.dispose([focal, giou, pred.cls, pred.reg, pred.ctr]);
  });

  it('end-to-end: the loss reaches every variable', () => {
    const model = createDetector(TINY, 2);
    const trainer = new DetTrainer({ model, method: 'e2e', cuts: [], seed: 2 });
    const { images, boxes } = detectionBatches(digits.train, 4, 2)();
    const all = trainer.trainableVariables();
    expect(all.length).toBe(model.trainableVariables().length);
    const { grads } = tf.variableGrads(() => trainer.moduleObjective(0, { h: images, taps: [null, null, null] }, boxes, 64).loss, all);
    for (const v of all) expect(nonZero(grads[v.name]), v.name).toBe(true);
    tf.dispose([...Object.values(grads), images]);
    trainer.dispose();
    model.dispose();
  });

  for (const method of ['local', 'glcan'] as const) {
    it(`${method}: each module's loss reaches all its own variables and none of any other module's; a step keeps nothing`, () => {
      const model = createDetector(TINY, 4);
      // Modules: [stem, block s2] (stride 4, no tap yet), [s3 -> C3, s4 -> C4], [s5, FPN + head].
      const trainer = new DetTrainer({ model, method, cuts: [0, 2], seed: 4 });
      expect(trainer.modules.map((m) => m.units.map((u) => `${u.info.kind}${u.info.stage}`))).toEqual([['stem1', 'block2'], ['block3', 'block4'], ['block5']]);
      const all = trainer.trainableVariables();
      expect(new Set(all).size).toBe(all.length);
      const { images, boxes } = detectionBatches(digits.train, 4, 5)();
      const flows = moduleInputs(trainer, images, boxes);
      // Module 2 gets C3 and C4 from the bank, as constants.
      expect(flows[2]!.taps.map((t) => t?.shape[1] ?? null)).toEqual([8, 4, null]);
      const global = new Set(trainer.global?.variables ?? []);
      trainer.modules.forEach((_, i) => {
        const { grads } = tf.variableGrads(() => trainer.moduleObjective(i, flows[i]!, boxes, 64).loss, all);
        const own = new Set(trainer.moduleVariables(i).filter((v) => !global.has(v)));
        for (const v of all) {
          if (own.has(v)) expect(nonZero(grads[v.name]), `module ${i} own ${v.name}`).toBe(true);
          else if (global.has(v)) expect(nonZero(grads[v.name]), `module ${i} global ${v.name}`).toBe(i < trainer.modules.length - 1);
          else expect(allZero(grads[v.name]), `module ${i} reached ${v.name}`).toBe(true);
        }
        tf.dispose(Object.values(grads));
      });
      if (method === 'glcan') {
        // SLM plans: module 0 ends in stage 2 -> one strided block each for stages 3, 4, 5; module 1 ends at C4 -> stage 5 only.
        expect(slmPlan(model.config, trainer.modules[0]!.units.at(-1)!.info).map((p) => p.stage)).toEqual([3, 4, 5]);
        expect(slmPlan(model.config, trainer.modules[1]!.units.at(-1)!.info).map((p) => p.stage)).toEqual([5]);
        expect(global.size).toBeGreaterThan(0);
        expect(trainer.modules[0]!.head!.sharedVariables).toEqual(trainer.modules[1]!.head!.sharedVariables);
        expect(trainer.moduleVariables(2).filter((v) => global.has(v))).toHaveLength(0);
      } else expect(trainer.global).toBeNull();
      // The step differentiates exactly these objectives: its gradients are their sums.
      const step = trainer.computeGradients(images, boxes);
      const summed = new Map<tf.Variable, tf.Tensor>();
      trainer.modules.forEach((_, i) => {
        const { grads } = tf.variableGrads(() => trainer.moduleObjective(i, flows[i]!, boxes, 64).loss, trainer.moduleVariables(i));
        for (const v of trainer.moduleVariables(i)) summed.set(v, summed.has(v) ? tf.add(summed.get(v)!, grads[v.name]!) : grads[v.name]!);
      });
      expect(step.grads.size).toBe(all.length);
      // BatchNorm uses batch statistics, the same in both passes: the sums agree to float rounding.
      for (const v of all) expect(tf.max(tf.abs(tf.sub(step.grads.get(v)!, summed.get(v)!))).dataSync()[0], v.name).toBeLessThan(1e-4);
      tf.dispose([...step.grads.values(), ...summed.values(), ...step.losses]);
      for (const f of flows.slice(1)) tf.dispose([f.h, ...f.taps.filter((t) => t && t !== f.h)] as tf.Tensor[]);
      // A step keeps nothing but its gradients and losses: the handed-on maps and taps are freed.
      const tensors = tf.memory().numTensors;
      const third = trainer.computeGradients(images, boxes);
      expect(tf.memory().numTensors).toBe(tensors + third.grads.size + third.losses.length);
      tf.dispose([...third.grads.values(), ...third.losses, images]);
      trainer.dispose();
      model.dispose();
    }, 120_000);
  }

  it('a few dozen Adam steps of each method lower the real head\'s loss on held-out digit canvases', () => {
    const held = detectionBatches(digits.test, 16, 1)();
    const lossOf = (model: ReturnType<typeof createDetector>) =>
      tf.tidy(() => {
        const pred = model.forward(held.images, false);
        return fcosLoss(pred, assignTargets(held.boxes, model.levels, 64)).dataSync()[0]!;
      });
    for (const method of ['e2e', 'local', 'glcan'] as DetMethod[]) {
      const model = createDetector(TINY, 8);
      const trainer = new DetTrainer({ model, method, cuts: [1], seed: 8 });
      const optimizer = createDetOptimizer(3e-3);
      const next = detectionBatches(digits.train, 8, 8);
      const before = lossOf(model);
      for (let s = 0; s < 30; s++) {
        const { images, boxes } = next();
        tf.dispose([...trainer.step(images, boxes, optimizer), images]);
      }
      const after = lossOf(model);
      expect(after, `${method}: loss ${before} -> ${after}`).toBeLessThan(before * 0.9);
      // Evaluation and previews run on the trained net: scores in [0, 1], boxes inside the image.
      const tensors = tf.memory().numTensors;
      const scores = evaluateDetection(model, digits.test.slice(0, 4));
      expect(scores.map50).toBeGreaterThanOrEqual(0);
      expect(scores.map).toBeLessThanOrEqual(scores.map50);
      const found = detect(model, digits.test[0]!.image, { scoreThreshold: 0 });
      expect(found.length).toBeGreaterThan(0);
      for (const d of found) expect(d.x1 >= 0 && d.x2 <= 64 && d.x2 >= d.x1 && d.score <= 1 && d.label < 10).toBe(true);
      expect(tf.memory().numTensors, 'evaluation and detect free what they make').toBe(tensors);
      optimizer.dispose();
      trainer.dispose();
      model.dispose();
    }
    tf.dispose(held.images);
  }, 120_000);
});
