/**
 * A procedural person: face shape, colouring and hair, drawn from a seed. Every field is a
 * plain number or colour so identities serialise into labels.json as they are.
 */
import { createRng, mixSeed } from '../../data/random';
import type { VoiceOptions } from '../audio/espeak';

export type Rgb = [number, number, number];

export const HAIR_STYLES = ['short', 'crew', 'side-part', 'medium', 'long', 'bob', 'curly', 'bald'] as const;
export type HairStyle = (typeof HAIR_STYLES)[number];

export interface Identity {
  /** Folder name, MEAD-like: id000, id001, ... */
  name: string;
  index: number;
  seed: number;
  /** Shape, each a small signed deviation from the canonical face (about -1..1). */
  shape: {
    faceWidth: number;
    faceLength: number;
    jawWidth: number;
    chin: number;
    foreheadHeight: number;
    eyeSpacing: number;
    eyeSize: number;
    eyeOpenness: number;
    eyeTilt: number;
    browHeight: number;
    browArch: number;
    browThickness: number;
    noseLength: number;
    noseWidth: number;
    noseProjection: number;
    mouthWidth: number;
    upperLip: number;
    lowerLip: number;
    mouthHeight: number;
    cheekFullness: number;
  };
  colour: {
    skin: Rgb;
    lips: Rgb;
    iris: Rgb;
    brows: Rgb;
    hair: Rgb;
    background: Rgb;
    clothes: Rgb;
  };
  hairStyle: HairStyle;
  /** Stubble/beard shadow strength 0..1 (0 for most). */
  beard: number;
  /** The espeak-ng voice this person speaks with. */
  voice: Required<Pick<VoiceOptions, 'voice' | 'variant' | 'pitch' | 'speed'>>;
}

// Skin tones from light to deep, roughly the Fitzpatrick range as sRGB.
const SKIN_TONES: Rgb[] = [
  [245, 214, 190], [236, 198, 170], [228, 184, 152], [214, 170, 135], [198, 150, 112],
  [176, 128, 92], [156, 110, 78], [134, 92, 64], [114, 78, 54], [236, 190, 160],
];
const IRIS: Rgb[] = [[70, 45, 25], [95, 60, 30], [50, 32, 20], [110, 90, 50], [70, 110, 70], [70, 110, 160], [110, 130, 150], [40, 28, 18]];
const HAIR: Rgb[] = [[22, 18, 16], [45, 32, 24], [75, 50, 32], [110, 74, 45], [150, 105, 60], [200, 165, 110], [125, 55, 30], [150, 150, 150], [60, 45, 38]];
const BACKGROUNDS: Rgb[] = [[200, 205, 210], [170, 180, 190], [215, 210, 200], [120, 130, 140], [185, 195, 180], [90, 95, 110], [225, 225, 228], [160, 150, 140]];
const CLOTHES: Rgb[] = [[40, 50, 80], [120, 30, 40], [30, 30, 35], [200, 200, 205], [60, 90, 60], [90, 70, 110], [150, 120, 80], [40, 90, 130]];

const pick = <T>(rng: () => number, list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
const jitter = (rng: () => number, c: Rgb, amount: number): Rgb => c.map((v) => Math.max(0, Math.min(255, Math.round(v + (rng() * 2 - 1) * amount)))) as Rgb;
/** A sum of two uniforms: most people near the mean, a few further out. */
const signed = (rng: () => number) => rng() + rng() - 1;

export function makeIdentity(seed: number, index: number): Identity {
  const rng = createRng(mixSeed(seed, index, 0x1d));
  const shape: Identity['shape'] = {
    faceWidth: signed(rng),
    faceLength: signed(rng),
    jawWidth: signed(rng),
    chin: signed(rng),
    foreheadHeight: signed(rng),
    eyeSpacing: signed(rng),
    eyeSize: signed(rng),
    eyeOpenness: signed(rng),
    eyeTilt: signed(rng),
    browHeight: signed(rng),
    browArch: signed(rng),
    browThickness: signed(rng),
    noseLength: signed(rng),
    noseWidth: signed(rng),
    noseProjection: signed(rng),
    mouthWidth: signed(rng),
    upperLip: signed(rng),
    lowerLip: signed(rng),
    mouthHeight: signed(rng),
    cheekFullness: signed(rng),
  };
  const skin = jitter(rng, pick(rng, SKIN_TONES), 8);
  const hairBase = pick(rng, HAIR);
  let hair = jitter(rng, hairBase, 10);
  // Hair about as bright as the skin hides the face's outline: make it clearly darker.
  const lum = (c: Rgb) => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
  if (Math.abs(lum(hair) - lum(skin)) < 40) hair = hair.map((v) => Math.round(v * 0.45)) as Rgb;
  const lipTint: Rgb = [skin[0] * 0.78 + 28, skin[1] * 0.6 + 4, skin[2] * 0.64 + 6];
  const lips = jitter(rng, lipTint.map((v) => Math.min(255, Math.round(v))) as Rgb, 8);
  // Brows a little darker than the hair, never lighter than the skin.
  const brows = hair.map((v, i) => Math.round(Math.min(v * 0.8, skin[i]! * 0.55))) as Rgb;
  const hairStyle = pick(rng, HAIR_STYLES);
  const beard = rng() < 0.2 ? 0.3 + 0.5 * rng() : 0;
  const female = rng() < 0.5;
  const voice = {
    voice: pick(rng, ['en-us', 'en-us', 'en', 'en-gb-x-rp']),
    variant: female ? pick(rng, ['f1', 'f2', 'f3', 'f4', 'f5']) : pick(rng, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']),
    pitch: Math.round((female ? 55 : 40) + 15 * rng()),
    speed: Math.round(150 + 30 * rng()),
  };
  return {
    name: `id${String(index).padStart(3, '0')}`,
    index,
    seed,
    shape,
    colour: {
      skin,
      lips,
      iris: jitter(rng, pick(rng, IRIS), 10),
      brows,
      hair,
      background: jitter(rng, pick(rng, BACKGROUNDS), 12),
      clothes: jitter(rng, pick(rng, CLOTHES), 15),
    },
    hairStyle,
    beard: female ? 0 : beard,
    voice,
  };
}

/** The corpus's people: identity i depends only on (seed, i), so a larger corpus keeps the smaller one's people. */
export function makeIdentities(count: number, seed: number): Identity[] {
  return Array.from({ length: count }, (_, i) => makeIdentity(seed, i));
}
