/**
 * The split editor's real measurement for super-resolution and detection (like
 * ../engine/memory/probe-split.ts for the ResNets): one training step of the split and one of
 * end-to-end, each the first step of a fresh net and optimiser (as every run records its own),
 * under the same probe. The batch is synthetic (seeded noise patches, one box per canvas): a
 * step's memory depends on the shapes, not on the pixels. Runs in a job worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { type DetectionSettings, MNIST_CANVAS_DATASET, type SuperResolutionSettings } from '../../shared/engine/tasks';
import { selectBackend } from '../engine/backend/select';
import { measurePeak, type MemoryPeak } from '../engine/memory/probe';
import { createDetOptimizer, DetTrainer } from '../engine/tasks/detection/det-trainer';
import { createDetector } from '../engine/tasks/detection/detector';
import { createEdsr } from '../engine/tasks/super-resolution/edsr';
import { createSrOptimizer, SrTrainer } from '../engine/tasks/super-resolution/sr-trainer';
import { lossValues } from '../engine/train/trainer';
import { detectorConfigOf, readDetectionFolder } from './detection-run';
import { edsrConfigOf } from './super-resolution-run';

export type TaskProbeRequest = { kind: 'super-resolution'; settings: SuperResolutionSettings } | { kind: 'detection'; settings: DetectionSettings };

export interface TaskProbeResult {
  backend: string;
  peakBytes: number;
  modulePeakBytes: number[];
  endToEndPeakBytes: number;
}

async function srStep(settings: SuperResolutionSettings, method: SuperResolutionSettings['method'], cuts: number[]): Promise<MemoryPeak> {
  const { batchSize: b, patch: p, scale: s } = settings;
  const model = createEdsr(edsrConfigOf(settings), 0);
  const trainer = new SrTrainer({ model, method, cuts, seed: 0, ...(method === 'glcan' && settings.glcan ? { glcan: settings.glcan } : {}), ...(method === 'local' && settings.localConvs ? { localConvs: settings.localConvs } : {}) });
  const optimizer = createSrOptimizer(settings.lr);
  const lr = tf.randomUniform([b, p, p, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const hr = tf.randomUniform([b, p * s, p * s, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    let losses: tf.Scalar[] = [];
    const peak = await measurePeak((onPhase) => {
      losses = trainer.step(lr, hr, optimizer, onPhase);
    });
    await lossValues(losses);
    return { ...peak, phasePeakBytes: peak.phasePeakBytes.slice(0, trainer.modules.length) };
  } finally {
    tf.dispose([lr, hr]);
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

async function detStep(settings: DetectionSettings, method: DetectionSettings['method'], cuts: number[]): Promise<MemoryPeak> {
  // A folder's images: 3 channels at its size, its classes (annotations read, images not decoded).
  const folder = settings.dataset === MNIST_CANVAS_DATASET ? null : readDetectionFolder(settings);
  const size = folder ? settings.folder!.size : settings.canvas.size;
  const channels = folder ? 3 : 1;
  const model = createDetector(detectorConfigOf(settings, folder ? { channels: 3, classes: folder.classes.length } : undefined), 0);
  const trainer = new DetTrainer({ model, method, cuts, seed: 0 });
  const optimizer = createDetOptimizer(settings.lr);
  const images = tf.randomUniform([settings.batchSize, size, size, channels], 0, 1, 'float32', 1) as tf.Tensor4D;
  // One digit-sized box per canvas, in its middle.
  const box = { x1: size / 4, y1: size / 4, x2: (3 * size) / 4, y2: (3 * size) / 4, label: 0 };
  const boxes = Array.from({ length: settings.batchSize }, () => [box]);
  try {
    let losses: tf.Scalar[] = [];
    const peak = await measurePeak((onPhase) => {
      losses = trainer.step(images, boxes, optimizer, onPhase);
    });
    await lossValues(losses);
    return { ...peak, phasePeakBytes: peak.phasePeakBytes.slice(0, trainer.modules.length) };
  } finally {
    images.dispose();
    optimizer.dispose();
    trainer.dispose();
    model.dispose();
  }
}

export async function probeTaskMemory(request: TaskProbeRequest): Promise<TaskProbeResult> {
  const backend = await selectBackend(request.settings.backend);
  const { method, cuts } = request.settings;
  const [split, e2e] =
    request.kind === 'super-resolution'
      ? [await srStep(request.settings, method, cuts), await srStep(request.settings, 'e2e', [])]
      : [await detStep(request.settings, method, cuts), await detStep(request.settings, 'e2e', [])];
  return { backend: backend.id, peakBytes: split.peakBytes, modulePeakBytes: split.phasePeakBytes, endToEndPeakBytes: e2e.peakBytes };
}
