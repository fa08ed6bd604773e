/**
 * How the talking-head job builds each SPEAK stage: the model modules' factories, given the
 * clips, that stage's own settings (`settings.model.<stage>`, with the run's size and learning
 * rate unless that object sets its own), the run's seed and the stages built before it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TalkingHeadSettings } from '../../../shared/speak/settings';
import { melWindows } from '../audio/mel';
import type { SpeakClip } from '../data/clip';
import { faceVariants, readRealFacePool, stillClip } from '../data/real-face-pool';
import { audioEncoder, type AudioEncoderSettings } from '../model/audio-encoder';
import { createGeneratorStage, type GeneratorStageSettings } from '../model/generator-stage';
import { createIrfdStage, encodeFaces, irfdArchitecture, type IrfdSettingsInput } from '../model/irfd';
import { Params } from '../model/nn';
import { createSyncNetStage, type SyncNetSettings, type SyncNetStage, syncLoss } from '../model/syncnet';
import type { StageBuilder, StageBuilders } from './train-speak';

/** Seeds per stage, so two stages never start from the same random streams. */
const stageSeed = (settings: TalkingHeadSettings, stage: number) => settings.seed * 4 + stage + 1;

const syncnet: StageBuilder = ({ clips, settings }) => {
  const stage = createSyncNetStage(clips, { lr: settings.lr, ...(settings.model.syncnet as Partial<SyncNetSettings>) }, stageSeed(settings, 0));
  return Object.assign(stage, { batchSize: stage.settings.batchSize });
};

const irfd: StageBuilder = ({ clips, settings }) => {
  const stage = createIrfdStage(clips, { size: settings.size, lr: settings.lr, ...(settings.model.irfd as IrfdSettingsInput) }, stageSeed(settings, 1));
  return Object.assign(stage, { batchSize: stage.settings.batch });
};

/** A run's generator-stage settings split into the audio encoder's (`model.generator.audioEncoder`) and the stage's own. */
export function generatorSettingsOf(settings: TalkingHeadSettings): { own: Partial<GeneratorStageSettings>; audioSettings: Partial<AudioEncoderSettings>; realFaces?: string; realFaceVariants?: boolean } {
  const { audioEncoder: audioSettings = {}, realFaces, realFaceVariants, ...own } = settings.model.generator as Partial<GeneratorStageSettings> & { audioEncoder?: Partial<AudioEncoderSettings>; realFaces?: string; realFaceVariants?: boolean };
  return { own, audioSettings, ...(realFaces ? { realFaces } : {}), ...(realFaceVariants ? { realFaceVariants } : {}) };
}

/**
 * The real faces of `model.generator.realFaces` (a pool file `blockwise speak faces` writes) as
 * still clips; with `model.generator.realFaceVariants` each also mirrored and under five lights.
 */
function realFaceClips(file: string | undefined, size: number, variants: boolean): SpeakClip[] | undefined {
  if (file === undefined) return undefined;
  if (typeof file !== 'string') throw new Error(`model.generator.realFaces must be the path of a real face pool file (blockwise speak faces writes one), got ${JSON.stringify(file)}`);
  const faces = readRealFacePool(file, size).faces;
  return (variants ? faceVariants(faces, size) : faces).map((face, k) => stillClip(face, size, k));
}

/**
 * The generator stage with the audio encoder trained alongside it (in its own Params store,
 * `audio.*`, carried as the stage's extraParams), IRFD's encoders frozen, and SyncNet's L_sync
 * when a SyncNet stage was built. `model.generator.audioEncoder` sets the encoder's widths.
 */
const generator: StageBuilder = ({ clips, settings, earlier }) => {
  const { own, audioSettings, realFaces, realFaceVariants } = generatorSettingsOf(settings);
  const irfdStage = earlier.irfd;
  if (!irfdStage) throw new Error('The generator stage needs the IRFD stage built before it');
  const arch = irfdArchitecture(irfdStage.params);
  const seed = stageSeed(settings, 2);
  const audio = new Params('audio', seed);
  const first = clips.clips[0];
  if (!first) throw new Error('The generator stage needs at least one clip to train on; the clip set is empty');
  const window = melWindows(first.audio, first.frameCount, { fps: first.fps });
  tf.tidy(() => audioEncoder(audio, tf.zeros([1, window.steps, window.mels]), audioSettings)); // makes its variables before Adam is given them
  const syncnetStage = earlier.syncnet as SyncNetStage | undefined;
  const stage = createGeneratorStage(
    clips,
    { size: settings.size, learningRate: settings.lr, discriminatorLearningRate: settings.lr, ...own },
    {
      encodeFaces: (images) => encodeFaces(irfdStage.params, images, arch),
      encodeAudio: (mel) => audioEncoder(audio, mel, audioSettings),
      audioVariables: () => audio.trainable(),
      // SyncNet frozen: the generator's optimiser is given only its own and the audio encoder's variables.
      realFaces: realFaceClips(realFaces, settings.size, realFaceVariants === true),
      ...(syncnetStage ? { syncLoss: (real: tf.Tensor4D, generated: tf.Tensor4D) => syncLoss(syncnetStage.params, real, generated, syncnetStage.settings) } : {}),
    },
    seed,
  );
  return Object.assign(stage, { extraParams: [audio], extraOptimizers: [stage.discriminatorOptimizer], batchSize: stage.settings.batchSize });
};

export const STAGE_BUILDERS: StageBuilders = {
  syncnet,
  irfd,
  generator,
};
