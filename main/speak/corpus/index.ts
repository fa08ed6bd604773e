/**
 * The procedural talking-face corpus: public API.
 *
 * - `makeIdentities(count, seed)` / `makeIdentity(seed, i)`: the people.
 * - `renderFace(identity, state, { size })`: one frame (RGB bytes) and its 68 ground-truth
 *   landmarks (iBUG layout, continuous pixel coordinates) for a `FaceState` (emotion and
 *   intensity, speech mouth, blink, gaze, head pose).
 * - `writeCorpus(options)`: MEAD-style folders of PNG frames, WAV and labels.json.
 */
export { EMOTIONS, isEmotion, type Emotion } from './emotions';
export { buildFace, NEUTRAL_STATE, type Face3d, type FaceState } from './face-model';
export { FRONTAL, type HeadPose, type Vec2, type Vec3 } from './geometry';
export { HAIR_STYLES, makeIdentities, makeIdentity, type Identity, type Rgb } from './identity';
export { faceLandmarks, MAX_SIZE, MIN_SIZE, renderFace, type RenderedFace, type RenderOptions } from './renderer';
export { CORPUS_FORMAT, LEVELS, writeCorpus, frameFile, type CorpusManifest, type CorpusOptions, type CorpusProgress, type ManifestClip } from './corpus-writer';
export { planClip, levelIntensity, type ClipPlan, type ClipFrame } from './clip-plan';
export { encodePng, decodePngRgb } from './png';
export { VISEMES, visemeOf, type Viseme } from './visemes';
