/**
 * Real face instruments (pretrained models nobody here trained), for the talking heads:
 * - `findFace(photo, options)`: a user's photo to an aligned square crop, or a FaceNotUsableError
 *   saying why not (no face, several faces, too small, profile);
 * - `detectFaces(image, { descriptor, expressions })`: face-api's detector, 68 landmarks,
 *   128-d descriptor and 7 expressions, on the caller's tfjs-core backend;
 * - `isSamePerson` / `descriptorDistance` at the model's own threshold (0.6);
 * - `FaceMeshMeter`: human's face mesh in a worker thread, head yaw/pitch/roll in degrees.
 * Licences of the weights: resources/face-models/LICENSES.md.
 */
export { detectBoxes, detectFaces, eyeCentres, EXPRESSIONS, type Box, type DetectedFace, type DetectOptions, type Expression, type Point } from './detect-faces';
export { EXPRESSION_FOR_EMOTION, topExpression, type MeadEmotion } from './expressions';
export { loadFaceApi } from './face-api-runtime';
export { alignedCropBox, cutCrop, DEFAULT_FIND_OPTIONS, FaceNotUsableError, findFace, type CropBox, type FaceProblem, type FindFaceOptions, type FoundFace } from './face-finder';
export { FaceMeshMeter, type FaceMeshOptions, type HeadPose, type MeshMeasurement } from './head-pose';
export { descriptorDistance, isSamePerson, SAME_PERSON_DISTANCE } from './identity';
export { imageTensor, readImage, type RgbImage } from './image-input';
export { cropImage, mirrorImage, resizeImage, transformImage, warpAffine } from './image-warp';
export { FaceModelsMissingError, locateModels, type ModelFamily } from './model-files';
