/**
 * Head rotation measured by human's 468-point face mesh, in degrees, in the corpus's convention
 * (main/speak/corpus/geometry.ts): yaw > 0 turns the face towards the image's right (the nose
 * moves right of the eyes), pitch > 0 lifts the chin, roll > 0 tilts the head clockwise as the
 * viewer sees it. Human runs in its own worker thread (see ./face-mesh-worker.ts for why).
 *
 * Human reports radians from the mesh's axes; the signs below were measured, not assumed: a
 * mirrored photo flips the yaw, a photo rotated clockwise raises the roll by the same angle, and
 * rendered corpus faces with known pitch set the pitch sign (test/unit/speak/instruments*.test.ts).
 */
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import type { RgbImage } from '../../data/image-codec';
import { wasmBinaryDir } from '../../engine/backend/wasm-setup';
import { workerScript } from '../../platform/workers';
import type { FaceMeshWorkerData, MeshFace, MeshReady, MeshReply, MeshRequest } from './face-mesh-worker';
import { checkRgb } from './image-input';
import { locateModels, packageDir } from './model-files';

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

export interface MeshMeasurement {
  /** Face box in pixels: x, y, width, height. */
  box: [number, number, number, number];
  /** Human's face score (detector and mesh together), 0..1. */
  score: number;
  pose: HeadPose;
  /** 468 mesh points [x, y, z] in pixels (z relative, human's scale). */
  mesh: [number, number, number][];
}

const DEGREES = 180 / Math.PI;
/** Human's angle -> ours: sign of each axis (measured; see the file comment). */
const SIGN: HeadPose = { yaw: -1, pitch: -1, roll: 1 };

export function toHeadPose(angle: MeshFace['angle']): HeadPose {
  return { yaw: SIGN.yaw * angle.yaw * DEGREES, pitch: SIGN.pitch * angle.pitch * DEGREES, roll: SIGN.roll * angle.roll * DEGREES };
}

export interface FaceMeshOptions {
  /** Most faces measured in one image (largest first). Default 4. */
  maxFaces?: number;
}

export class FaceMeshMeter {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (faces: MeshFace[]) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    /** The TF.js backend human runs on in its thread. */
    readonly backend: string,
  ) {
    worker.on('message', (reply: MeshReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiting.reject(new Error(`The face mesh failed on this image: ${reply.error}`));
      else waiting.resolve(reply.faces);
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => fail(new Error(`The face mesh worker crashed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`The face mesh worker stopped (exit code ${code})`)));
  }

  /** Starts the worker and loads BlazeFace and the mesh (about a second). */
  static async start(options: FaceMeshOptions = {}): Promise<FaceMeshMeter> {
    const models = locateModels('human');
    const data: FaceMeshWorkerData = {
      humanModule: path.join(packageDir('@vladmandic/human'), 'dist', 'human.esm.js'),
      modelDir: models.dir,
      wasmDir: wasmBinaryDir(),
      maxFaces: options.maxFaces ?? 4,
    };
    const worker = new Worker(workerScript('face-mesh-worker'), { workerData: data });
    // Only our own listeners come off afterwards: Worker.removeAllListeners() would also drop
    // Node's internal ones that restart its message port when a listener is added again.
    let onMessage!: (ready: MeshReady) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<MeshReady>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`the worker stopped before it was ready (exit code ${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).catch((error: Error) => ({ ready: false as const, error: error.message }));
    worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    if (!ready.ready) {
      await worker.terminate();
      throw new Error(`The face mesh (human) could not start: ${ready.error}`);
    }
    return new FaceMeshMeter(worker, ready.backend);
  }

  /** Every face human finds, largest first, with its head pose in degrees. */
  async measure(image: RgbImage): Promise<MeshMeasurement[]> {
    checkRgb(image);
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const faces = await new Promise<MeshFace[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const data = Uint8Array.from(image.data); // a copy, so the caller keeps its pixels
      this.worker.postMessage({ id, width: image.width, height: image.height, data } satisfies MeshRequest, [data.buffer]);
    });
    return faces
      .map((face) => ({ box: face.box, score: face.score, pose: toHeadPose(face.angle), mesh: face.mesh }))
      .sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
  }

  /** The largest face's pose, or null when human finds no face. */
  async headPose(image: RgbImage): Promise<HeadPose | null> {
    const [largest] = await this.measure(image);
    return largest?.pose ?? null;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
