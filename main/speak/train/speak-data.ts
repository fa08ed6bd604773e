/** The clips a talking-head run trains on, from its settings: procedural people in memory, or a corpus folder. */
import type { TalkingHeadSettings } from '../../../shared/speak/settings';
import type { ClipSet } from '../data/clip';
import { readCorpus, readManifest } from '../data/corpus-reader';
import { splitIdentities } from '../data/identity-split';
import { proceduralClips } from '../data/procedural-clips';

export function clipsFor(settings: TalkingHeadSettings): ClipSet {
  const { data, size } = settings;
  if (data.source === 'procedural') {
    return proceduralClips({
      count: data.identities,
      first: data.first,
      seed: data.seed,
      size,
      ...(data.emotions ? { emotions: data.emotions } : {}),
      ...(data.levels ? { levels: data.levels } : {}),
      ...(data.maxFrames ? { maxFrames: data.maxFrames } : {}),
    });
  }
  // Held-out people never train: the same split seed gives evaluation the same ones.
  const identities = data.heldOut > 0 ? splitIdentities(readManifest(data.dir).identities, data.heldOut, data.seed).train : undefined;
  return readCorpus(data.dir, { size, ...(identities ? { identities } : {}) });
}
