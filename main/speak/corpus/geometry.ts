/**
 * Head pose and the camera: rotate the 3D face about the neck pivot, then project it with a
 * pinhole camera. Coordinates are the face model's: x to the viewer's right, y down, z towards
 * the camera; one unit is half the face width at the ears.
 */

export type Vec3 = [number, number, number];
export type Vec2 = [number, number];

/**
 * Head rotation in degrees. yaw > 0 turns the face towards the image's right (the nose tip moves
 * right of the eyes), pitch > 0 lifts the chin (the nose moves up), roll > 0 tilts the head
 * clockwise as the viewer sees it.
 */
export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

export const FRONTAL: HeadPose = { yaw: 0, pitch: 0, roll: 0 };

/** Rotation pivot: roughly the top of the neck, behind the face plane. */
const PIVOT: Vec3 = [0, 0.2, -0.9];
/** Camera distance from the pivot and focal length, in face units: a mild, portrait-lens perspective. */
const CAMERA_DISTANCE = 9;

export type Mat3 = [number, number, number, number, number, number, number, number, number];

export function rotationMatrix(pose: HeadPose): Mat3 {
  const rad = Math.PI / 180;
  // yaw about y (x->z), pitch about x (y->z), roll about z; applied as R = Rz * Rx * Ry.
  const a = pose.yaw * rad;
  const b = pose.pitch * rad;
  const c = pose.roll * rad;
  const cy = Math.cos(a), sy = Math.sin(a), cx = Math.cos(b), sx = Math.sin(b), cz = Math.cos(c), sz = Math.sin(c);
  // Ry: x' = cy x + sy z, z' = -sy x + cy z  (yaw > 0: the nose (z > 0) moves to +x)
  const ry: Mat3 = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  // Rx: y' = cx y - sx z, z' = sx y + cx z  (pitch > 0: the nose (z > 0) moves to -y, up)
  const rx: Mat3 = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  // Rz: clockwise on screen with y down is the standard positive angle.
  const rz: Mat3 = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  return multiply(rz, multiply(rx, ry));
}

function multiply(p: Mat3, q: Mat3): Mat3 {
  const out = new Array<number>(9).fill(0) as Mat3;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r * 3 + c] = p[r * 3]! * q[c]! + p[r * 3 + 1]! * q[3 + c]! + p[r * 3 + 2]! * q[6 + c]!;
  return out;
}

export function rotate(point: Vec3, m: Mat3): Vec3 {
  const x = point[0] - PIVOT[0], y = point[1] - PIVOT[1], z = point[2] - PIVOT[2];
  return [m[0] * x + m[1] * y + m[2] * z + PIVOT[0], m[3] * x + m[4] * y + m[5] * z + PIVOT[1], m[6] * x + m[7] * y + m[8] * z + PIVOT[2]];
}

/** Where the face sits in the picture: centre (fraction of the image) and scale (face half-width in pixels per image size). */
export interface Framing {
  /** Image size in pixels (square). */
  size: number;
  /** Horizontal and vertical position of the face-model origin, as fractions of the image. */
  centreX: number;
  centreY: number;
  /** Half the face width, as a fraction of the image size. */
  halfWidth: number;
}

export function defaultFraming(size: number): Framing {
  return { size, centreX: 0.5, centreY: 0.47, halfWidth: 0.27 };
}

/** Perspective projection to pixels; also returns the depth scale (pixels per face unit at that point). */
export function project(point: Vec3, framing: Framing): { xy: Vec2; scale: number } {
  const depth = CAMERA_DISTANCE - (point[2] - PIVOT[2]);
  const perspective = (CAMERA_DISTANCE - (0 - PIVOT[2])) / depth;
  const unit = framing.halfWidth * framing.size * perspective;
  return { xy: [framing.centreX * framing.size + point[0] * unit, framing.centreY * framing.size + point[1] * unit], scale: unit };
}

/** Rotate then project a list of points. */
export function poseAndProject(points: readonly Vec3[], pose: HeadPose, framing: Framing): Vec2[] {
  const m = rotationMatrix(pose);
  return points.map((p) => project(rotate(p, m), framing).xy);
}
