/**
 * Held-out identities: the people chosen by a seed never train, so evaluation measures faces the
 * model has not seen. The same seed and list always give the same split.
 */
import { createRng, permutation } from '../../data/random';

export interface IdentitySplit {
  /** In the order of the list given. */
  train: string[];
  heldOut: string[];
}

/**
 * Splits `identities` into training and held-out people. `heldOut` is a count (1 or more) or a
 * fraction (above 0, below 1, rounded, at least one person); at least one person always trains.
 */
export function splitIdentities(identities: readonly string[], heldOut: number, seed: number): IdentitySplit {
  const unique = new Set(identities);
  if (unique.size !== identities.length) throw new Error(`The identity list names someone twice (${identities.filter((id, i) => identities.indexOf(id) !== i).join(', ')}); give each identity once.`);
  if (identities.length < 2) throw new Error(`Holding identities out needs at least 2 of them (one to train, one to hold out); got ${identities.length}.`);
  if (!(heldOut > 0)) throw new Error(`The held-out share must be a count of 1 or more or a fraction above 0; got ${heldOut}.`);
  if (heldOut >= 1 && !Number.isInteger(heldOut)) throw new Error(`A held-out count must be a whole number; got ${heldOut}.`);
  const count = heldOut < 1 ? Math.max(1, Math.round(heldOut * identities.length)) : heldOut;
  if (count >= identities.length) throw new Error(`Holding out ${count} of ${identities.length} identities leaves none to train; hold out at most ${identities.length - 1}.`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`The split seed must be a whole number from 0 to 4294967295; got ${seed}.`);
  const order = permutation(identities.length, createRng(seed));
  const out = new Set(Array.from(order.subarray(0, count), (i) => identities[i]!));
  return { train: identities.filter((id) => !out.has(id)), heldOut: identities.filter((id) => out.has(id)) };
}
