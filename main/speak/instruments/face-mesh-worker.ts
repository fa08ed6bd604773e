/**
 * Worker thread running human (@vladmandic/human): BlazeFace + the 468-point face mesh, from
 * which human computes the head's rotation. Human needs tfjs-converter (not installed here) unless
 * its self-contained ES module build is used, and that build brings a whole second tfjs whose
 * backends overwrite kernels in the process-wide registry: so it lives in its own thread (its own
 * globals, engine and registry) and nothing else runs here.
 *
 * Two adjustments make its browser-built tfjs run in Node: our CommonJS tfjs-core is loaded
 * first, so the shared engine already has tfjs's Node platform (the bundled one needs `util`,
 * which the bundle left out), with IS_NODE off while human's module initialises; and its own wasm
 * backend cannot start in Node (it looks for __dirname), so our @tensorflow/tfjs-backend-wasm
 * (same 4.22 binary) is the backend. Models are read from disk by a file:// loader.
 *
 * Messages: in { id, width, height, data } (RGB bytes); out { id, faces } or { id, error };
 * first out { ready: true, backend } or { ready: false, error }.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

export interface FaceMeshWorkerData {
  /** human's dist/human.esm.js. */
  humanModule: string;
  /** Folder with blazeface.json/.bin and facemesh.json/.bin. */
  modelDir: string;
  /** tfjs-backend-wasm's dist/ folder, with a trailing separator. */
  wasmDir: string;
  maxFaces: number;
}

/** One face as human sees it: box in pixels, scores, and its rotation in human's own terms (radians). */
export interface MeshFace {
  box: [number, number, number, number];
  score: number;
  boxScore: number;
  /** human's Euler angles, radians, its own sign conventions (head-pose.ts converts). */
  angle: { yaw: number; pitch: number; roll: number };
  /** The 468 mesh points in pixels [x, y, z]. */
  mesh: [number, number, number][];
}

export type MeshRequest = { id: number; width: number; height: number; data: Uint8Array };
export type MeshReply = { id: number; faces: MeshFace[] } | { id: number; error: string };
export type MeshReady = { ready: true; backend: string } | { ready: false; error: string };

interface HumanResult {
  face: { box: [number, number, number, number]; score: number; boxScore: number; mesh: [number, number, number][]; rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null }[];
  error?: string | null;
}
interface Human {
  tf: { io: { registerLoadRouter(router: (url: string | unknown) => unknown): void }; getBackend(): string };
  load(): Promise<void>;
  detect(input: tf.Tensor): Promise<HumanResult>;
}

/** Reads a TF.js graph model (model.json + weight files) from disk, as tfjs-node's file:// handler would. */
function fileLoader(url: string | unknown) {
  if (typeof url !== 'string' || !url.startsWith('file://')) return null;
  const file = fileURLToPath(url);
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: unknown; format?: string; generatedBy?: string; convertedBy?: string; signature?: unknown; userDefinedMetadata?: unknown; weightsManifest: { paths: string[]; weights: unknown[] }[] };
      const specs = json.weightsManifest.flatMap((group) => group.weights);
      const parts = json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync(path.join(path.dirname(file), p))));
      const all = Buffer.concat(parts);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      return { ...json, weightsManifest: undefined, weightSpecs: specs, weightData };
    },
  };
}

async function startHuman(config: FaceMeshWorkerData): Promise<Human> {
  setWasmPaths(config.wasmDir);
  // Human's bundle re-registers the same 4.22 kernels ours did; PROD mutes tfjs's warning for each.
  tf.env().set('PROD', true);
  tf.env().set('IS_NODE', false);
  let mod: { Human: new (config: unknown) => Human };
  try {
    mod = (await import(pathToFileURL(config.humanModule).href)) as typeof mod;
  } finally {
    tf.env().set('IS_NODE', true);
  }
  const human = new mod.Human({
    backend: 'wasm',
    modelBasePath: pathToFileURL(config.modelDir).href + '/',
    debug: false,
    async: true,
    warmup: 'none',
    // Every call measures its own image: no frame caching, skipping or smoothing between calls.
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: { modelPath: 'blazeface.json', rotation: true, maxDetected: config.maxFaces, minConfidence: 0.3, skipFrames: 0, return: false },
      mesh: { enabled: true, modelPath: 'facemesh.json' },
      attention: { enabled: false },
      iris: { enabled: false },
      emotion: { enabled: false },
      description: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  human.tf.io.registerLoadRouter(fileLoader);
  await human.load();
  return human;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const config = workerData as FaceMeshWorkerData;
  let human: Human;
  try {
    human = await startHuman(config);
  } catch (error) {
    port.postMessage({ ready: false, error: (error as Error).message } satisfies MeshReady);
    return;
  }
  port.postMessage({ ready: true, backend: human.tf.getBackend() } satisfies MeshReady);
  // One image at a time, in order: the next message waits for this one's reply.
  let queue = Promise.resolve();
  port.on('message', (request: MeshRequest) => {
    queue = queue.then(async () => {
      const input = tf.tidy(() => tf.expandDims(tf.tensor3d(Int32Array.from(request.data), [request.height, request.width, 3], 'int32'), 0));
      try {
        const result = await human.detect(input);
        if (result.error) throw new Error(result.error);
        const faces: MeshFace[] = result.face.map((face) => ({
          box: face.box,
          score: face.score,
          boxScore: face.boxScore,
          angle: face.rotation?.angle ?? { yaw: Number.NaN, pitch: Number.NaN, roll: Number.NaN },
          mesh: face.mesh,
        }));
        port.postMessage({ id: request.id, faces } satisfies MeshReply);
      } catch (error) {
        port.postMessage({ id: request.id, error: (error as Error).message } satisfies MeshReply);
      } finally {
        input.dispose();
      }
    });
  });
}

void main();
