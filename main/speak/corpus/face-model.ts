/**
 * The 3D face: the 68 iBUG landmarks (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth
 * 48-67) built on a canonical face, shaped by the identity, moved by emotion, speech and blinks,
 * then given depth from a head ellipsoid plus the nose, lips and brow relief. The renderer
 * paints from these points (and the few extra points here), so the landmarks are exactly where
 * the features are drawn.
 */
import { emotionDisplacement, type Emotion } from './emotions';
import type { HeadPose, Vec3 } from './geometry';
import type { HairStyle, Identity } from './identity';

/** Everything that changes from frame to frame. */
export interface FaceState {
  emotion: Emotion;
  /** 0..1. */
  intensity: number;
  /** Speech mouth: jaw opening 0..1 (viseme shape times loudness) and lip spread -1 (rounded) .. 1 (spread). */
  mouthOpen: number;
  lipSpread: number;
  /** Lips pressed together (p, b, m): 0..1. */
  lipsPressed: number;
  /** 0 open .. 1 closed. */
  blink: number;
  /** Gaze offset of the irises, -1..1 each way. */
  gaze: [number, number];
  pose: HeadPose;
}

export const NEUTRAL_STATE: FaceState = {
  emotion: 'neutral',
  intensity: 0,
  mouthOpen: 0,
  lipSpread: 0,
  lipsPressed: 0,
  blink: 0,
  gaze: [0, 0],
  pose: { yaw: 0, pitch: 0, roll: 0 },
};

/** The face in model space (before pose): landmarks plus the points the renderer needs. */
export interface Face3d {
  landmarks: Vec3[];
  /** Head outline cloud (top of the head and cheeks), for the silhouette. */
  head: Vec3[];
  /** Hairline from the left temple over the forehead to the right temple. */
  hairline: Vec3[];
  /** Outer hair cloud (volume around the head; long styles reach the shoulders). */
  hair: Vec3[];
  /** Iris centres (image-left eye, image-right eye) and the iris radius in face units. */
  irises: [Vec3, Vec3];
  irisRadius: number;
  /** Ear centres (left, right). */
  ears: [Vec3, Vec3];
  /** Neck and shoulders: a few points that follow the head only partly. */
  neck: Vec3[];
}

// Canonical frontal landmarks (x, y) for the image-left half and the midline; one unit is half
// the face width at the ears, y down, the eyes at y ~ -0.34, chin at 1.18.
const CANONICAL_LEFT: Record<number, [number, number]> = {
  17: [-0.8, -0.53], 18: [-0.66, -0.645], 19: [-0.5, -0.685], 20: [-0.34, -0.67], 21: [-0.17, -0.615],
  27: [0, -0.4], 28: [0, -0.21], 29: [0, -0.02], 30: [0, 0.17],
  31: [-0.2, 0.28], 32: [-0.1, 0.31], 33: [0, 0.325],
  36: [-0.62, -0.335], 37: [-0.51, -0.405], 38: [-0.35, -0.41], 39: [-0.22, -0.33], 40: [-0.35, -0.285], 41: [-0.51, -0.285],
  48: [-0.39, 0.6], 49: [-0.25, 0.535], 50: [-0.1, 0.5], 51: [0, 0.515],
  59: [-0.26, 0.695], 58: [-0.12, 0.75], 57: [0, 0.76],
  60: [-0.34, 0.6], 61: [-0.12, 0.585], 62: [0, 0.59], 67: [-0.12, 0.6], 66: [0, 0.6],
};
// Right-half partners of the left points above (image-right).
const PARTNER: Record<number, number> = {
  17: 26, 18: 25, 19: 24, 20: 23, 21: 22, 31: 35, 32: 34, 36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46,
  48: 54, 49: 53, 50: 52, 59: 55, 58: 56, 60: 64, 61: 63, 67: 65,
};

/** Depth of the face surface at (x, y): an ellipsoid centred behind the face plane. */
export function surfaceDepth(x: number, y: number, width = 1): number {
  const u = x / (1.04 * width);
  const v = (y + 0.1) / 1.75;
  return -0.45 + 0.95 * Math.sqrt(Math.max(0, 1 - u * u - 0.35 * v * v));
}

// Relief on top of the ellipsoid (face units towards the camera).
const RELIEF: Record<number, number> = {
  27: 0.05, 28: 0.12, 29: 0.22, 30: 0.32, 31: 0.06, 32: 0.12, 33: 0.15, 34: 0.12, 35: 0.06,
  36: -0.04, 37: -0.01, 38: -0.01, 39: -0.05, 40: -0.02, 41: -0.02, 42: -0.05, 43: -0.01, 44: -0.01, 45: -0.04, 46: -0.02, 47: -0.02,
  17: 0.02, 18: 0.04, 19: 0.05, 20: 0.05, 21: 0.04, 22: 0.04, 23: 0.05, 24: 0.05, 25: 0.04, 26: 0.02,
  48: -0.02, 49: 0.05, 50: 0.08, 51: 0.085, 52: 0.08, 53: 0.05, 54: -0.02, 55: 0.04, 56: 0.07, 57: 0.07, 58: 0.07, 59: 0.04,
  60: 0, 61: 0.05, 62: 0.06, 63: 0.05, 64: 0, 65: 0.045, 66: 0.05, 67: 0.045, 8: 0.06, 7: 0.04, 9: 0.04,
};

const HAIR_LENGTH: Record<HairStyle, { volume: number; down: number; hairline: number }> = {
  short: { volume: 0.07, down: -0.35, hairline: 0 },
  crew: { volume: 0.035, down: -0.4, hairline: 0.06 },
  'side-part': { volume: 0.11, down: -0.25, hairline: -0.04 },
  medium: { volume: 0.15, down: 0.35, hairline: -0.02 },
  long: { volume: 0.16, down: 1.75, hairline: -0.02 },
  bob: { volume: 0.17, down: 0.9, hairline: -0.12 },
  curly: { volume: 0.26, down: 0.2, hairline: 0 },
  bald: { volume: 0, down: -0.6, hairline: 0.5 },
};

export function hairProfile(style: HairStyle): { volume: number; down: number; hairline: number } {
  return HAIR_LENGTH[style];
}

/** Build the face for one identity and one frame's state (model space, before pose). */
export function buildFace(identity: Identity, state: FaceState): Face3d {
  const s = identity.shape;
  const width = 1 + 0.07 * s.faceWidth;
  const chinY = 1.18 + 0.07 * s.faceLength + 0.03 * s.chin;
  const p2: [number, number][] = Array.from({ length: 68 }, () => [0, 0]);

  // Jaw: a superellipse from ear level (point 0) round the chin (8) to the other ear (16).
  const jawTop = -0.3;
  const n = 2.5 + 0.5 * s.jawWidth;
  for (let i = 0; i <= 16; i++) {
    const a = (Math.PI * i) / 16;
    const c = Math.cos(a), sn = Math.sin(a);
    const x = -Math.sign(c) * Math.abs(c) ** (2 / n) * width;
    const y = jawTop + Math.abs(sn) ** (2 / n) * (chinY - jawTop);
    // The chin is narrower than the jaw: pull the lower points in a little.
    const chinPull = 1 - (0.1 + 0.06 * s.chin) * sn ** 6;
    p2[i] = [x * chinPull, y];
  }

  // Features: canonical positions scaled about their own centres by the identity.
  const eyeDx = 0.035 * s.eyeSpacing;
  const eyeScale = 1 + 0.1 * s.eyeSize;
  const eyeOpen = 1 + 0.18 * s.eyeOpenness;
  const browDy = -0.04 * s.browHeight;
  const noseLen = 0.06 * s.noseLength;
  const noseW = 1 + 0.14 * s.noseWidth;
  const mouthW = 1 + 0.09 * s.mouthWidth;
  const mouthDy = 0.03 * s.mouthHeight + 0.5 * noseLen;
  const tilt = 0.025 * s.eyeTilt;
  const place = (i: number, x: number, y: number) => {
    let px = x, py = y;
    if (i >= 17 && i <= 21) {
      const arch = (i === 19 || i === 20 ? -0.025 : i === 18 ? -0.015 : 0) * s.browArch;
      px = x * (1 + 0.03 * s.eyeSpacing);
      py = y + browDy + arch;
    } else if (i >= 36 && i <= 41) {
      const cx = -0.42 - eyeDx, cy = -0.34;
      px = cx + (x + 0.42) * eyeScale;
      py = cy + (y - cy) * eyeScale * eyeOpen + (i === 36 ? -tilt : i === 39 ? tilt * 0.5 : 0);
    } else if (i >= 27 && i <= 35) {
      const t = (y + 0.4) / 0.72;
      px = x * noseW;
      py = y + noseLen * t;
    } else if (i >= 48) {
      px = x * mouthW;
      py = y + mouthDy;
      const upper = [49, 50, 51].includes(i) ? -0.025 * s.upperLip : 0;
      const lower = [57, 58, 59].includes(i) ? 0.03 * s.lowerLip : 0;
      py += upper + lower;
    }
    return [px, py] as [number, number];
  };
  for (const [key, [x, y]] of Object.entries(CANONICAL_LEFT)) {
    const i = Number(key);
    const [px, py] = place(i, x, y);
    p2[i] = [px, py];
    const partner = PARTNER[i];
    if (partner !== undefined) {
      // Eye tilt mirrors as a mirrored tilt; everything else mirrors in x.
      p2[partner] = [-px, py];
    }
  }

  // Emotion.
  const emo = emotionDisplacement(state.emotion, state.intensity);
  for (let i = 0; i < 68; i++) {
    p2[i]![0] += emo.delta[i]![0];
    p2[i]![1] += emo.delta[i]![1];
  }

  // Speech and emotion open the jaw; lips pressed (p, b, m) close it.
  // Combined like probabilities, so speech still moves a mouth an emotion holds open.
  const speech = Math.max(0, Math.min(1, state.mouthOpen));
  const open = (1 - (1 - speech) * (1 - emo.open)) * (1 - state.lipsPressed);
  const drop = 0.3 * open;
  const lowerJawWeight: Record<number, number> = { 4: 0.15, 5: 0.4, 6: 0.7, 7: 0.9, 8: 1, 9: 0.9, 10: 0.7, 11: 0.4, 12: 0.15 };
  for (const [k, w] of Object.entries(lowerJawWeight)) p2[Number(k)]![1] += drop * w;
  for (const i of [55, 56, 57, 58, 59]) p2[i]![1] += drop * (i === 57 ? 1 : i === 56 || i === 58 ? 0.95 : 0.7);
  for (const i of [65, 66, 67]) p2[i]![1] += drop * (i === 66 ? 0.95 : 0.85);
  for (const i of [61, 62, 63]) p2[i]![1] -= drop * 0.12;
  for (const i of [49, 50, 51, 52, 53]) p2[i]![1] -= drop * 0.06;
  for (const i of [48, 54, 60, 64]) p2[i]![1] += drop * 0.25;
  // Rounded lips (o, u, w) pull the corners in; spread lips (ee) pull them out.
  const spread = state.lipSpread;
  for (const [i, side] of [[48, -1], [60, -1], [54, 1], [64, 1]] as const) p2[i]![0] += side * 0.07 * spread;
  for (const [i, side] of [[49, -1], [59, -1], [53, 1], [55, 1], [61, -1], [67, -1], [63, 1], [65, 1]] as const) p2[i]![0] += side * 0.03 * spread;
  // Pressed lips: inner lip lines meet.
  if (state.lipsPressed > 0) {
    for (const [u, l] of [[61, 67], [62, 66], [63, 65]] as const) {
      const mid = (p2[u]![1] + p2[l]![1]) / 2;
      p2[u]![1] += (mid - p2[u]![1]) * state.lipsPressed;
      p2[l]![1] += (mid - p2[l]![1]) * state.lipsPressed;
    }
  }
  // The inner lower lip never crosses above the inner upper lip.
  for (const [u, l] of [[61, 67], [62, 66], [63, 65]] as const) p2[l]![1] = Math.max(p2[l]![1], p2[u]![1]);

  // Blink: the upper lid comes down onto the lower lid.
  const blink = Math.max(0, Math.min(1, state.blink));
  for (const [u, l] of [[37, 41], [38, 40], [43, 47], [44, 46]] as const) {
    p2[u]![1] += (p2[l]![1] - 0.004 - p2[u]![1]) * blink;
  }

  // Depth.
  const landmarks: Vec3[] = p2.map(([x, y], i) => {
    let z = surfaceDepth(x, y, width) + (RELIEF[i] ?? 0);
    if (i >= 27 && i <= 35) z += 0.08 * s.noseProjection * ((RELIEF[i] ?? 0) / 0.32);
    if ([61, 62, 63, 65, 66, 67, 49, 50, 51, 52, 53, 55, 56, 57, 58, 59].includes(i)) z += 0.05 * Math.max(0, -spread);
    return [x, y, z];
  });

  // Irises sit in the eye opening; gaze shifts them.
  const eyeCentre = (outer: number, inner: number): Vec3 => {
    const x = (p2[outer]![0] + p2[inner]![0]) / 2;
    const y = (p2[outer]![1] + p2[inner]![1]) / 2 + 0.005;
    return [x + 0.05 * state.gaze[0], y + 0.03 * state.gaze[1], surfaceDepth(x, y, width) - 0.02];
  };
  const irisRadius = 0.078 * eyeScale;

  // Head dome for the silhouette: the upper half of an ellipsoid plus the cheeks.
  const top = -0.3 - (1.2 + 0.06 * s.foreheadHeight + 0.04 * s.faceLength);
  const head: Vec3[] = [];
  for (let a = 0; a <= 16; a++) {
    const theta = (Math.PI * a) / 16;
    for (const ring of [-1, -0.5, 0, 0.5, 0.8]) {
      const depth = ring * 0.9;
      const r = Math.sqrt(Math.max(0, 1 - ring * ring * 0.85));
      head.push([-Math.cos(theta) * width * r, -0.3 - Math.sin(theta) * (-0.3 - top) * (0.75 + 0.25 * r), -0.45 + depth]);
    }
  }
  // Cheeks bulge a little beyond the jaw line at the sides.
  for (let i = 1; i <= 6; i++) {
    const [x, y] = p2[i]!;
    head.push([x * (1 + 0.02 * s.cheekFullness), y, -0.45]);
    const [x2, y2] = p2[16 - i]!;
    head.push([x2 * (1 + 0.02 * s.cheekFullness), y2, -0.45]);
  }

  // Hairline and hair volume.
  const style = HAIR_LENGTH[identity.hairStyle];
  const hairTop = -0.98 - 0.07 * s.foreheadHeight - style.hairline;
  const hairline: Vec3[] = [];
  for (let k = 0; k <= 16; k++) {
    const t = -1 + (2 * k) / 16;
    const x = 0.97 * width * t;
    const part = identity.hairStyle === 'side-part' ? 0.12 * Math.max(0, -t) : 0;
    const y = hairTop + 0.42 * t ** 4 + part - 0.05 * (1 - t * t) * (identity.index % 3 === 0 ? 1 : 0);
    hairline.push([x, Math.min(y, -0.42), surfaceDepth(x, y, width) + 0.01]);
  }
  const hair: Vec3[] = [];
  if (identity.hairStyle !== 'bald') {
    const grow = 1 + style.volume;
    for (let a = -4; a <= 20; a++) {
      const theta = (Math.PI * a) / 16;
      for (const ring of [-1, -0.5, 0, 0.5]) {
        const r = Math.sqrt(Math.max(0, 1 - ring * ring * 0.85));
        const y = -0.3 - Math.sin(theta) * (-0.3 - top + style.volume) * (0.75 + 0.25 * r);
        if (y > style.down) continue;
        hair.push([-Math.cos(theta) * width * grow * r, y, -0.45 + ring * 0.95 * grow]);
      }
    }
    // Hair falling down the sides, behind the face.
    for (let y = -0.3; y <= style.down; y += 0.1) {
      const flare = 1 + style.volume + 0.05 * Math.min(1, (y + 0.3) / 1.5);
      hair.push([-width * flare, y, -0.6], [width * flare, y, -0.6]);
    }
  }

  const earY = -0.18;
  const ears: [Vec3, Vec3] = [[-width * 0.99, earY, -0.5], [width * 0.99, earY, -0.5]];
  const neckW = 0.55 * width;
  const neck: Vec3[] = [[-neckW, 0.6, -0.55], [neckW, 0.6, -0.55], [neckW * 1.08, 2.0, -0.55], [-neckW * 1.08, 2.0, -0.55]];

  return {
    landmarks,
    head,
    hairline,
    hair,
    irises: [eyeCentre(36, 39), eyeCentre(45, 42)],
    irisRadius,
    ears,
    neck,
  };
}
