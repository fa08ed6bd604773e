/**
 * Same person or not, by face-api's 128-d descriptor (the dlib ResNet face recognition model):
 * Euclidean distance below 0.6 is a match. That threshold is the model's own: face-api's
 * FaceMatcher defaults to it (src/globalApi/FaceMatcher.ts, `distanceThreshold = 0.6`), as does
 * dlib's face recognition example the weights come from.
 */
export const SAME_PERSON_DISTANCE = 0.6;

export function descriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Face descriptors differ in length (${a.length} and ${b.length}); both must come from the same model`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

export function isSamePerson(a: ArrayLike<number>, b: ArrayLike<number>, threshold = SAME_PERSON_DISTANCE): boolean {
  return descriptorDistance(a, b) < threshold;
}
