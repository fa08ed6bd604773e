/**
 * How the talking-head job builds each SPEAK stage: the model modules' factories, given the
 * clips, that stage's own settings (`settings.model.<stage>`, with the run's size and learning
 * rate unless that object sets its own), the run's seed and the stages built before it. A stage
 * whose module is not in this build refuses with a clear message.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TalkingHeadSettings } from '../../../shared/speak/settings';
import { melWindows } from '../audio/mel';
import { audioEncoder, type AudioEncoderSettings } from '../model/audio-encoder';
import { createGeneratorStage, type GeneratorStageSettings } from '../model/generator-stage';
import { createIrfdStage, encodeFaces, irfdArchitecture, type IrfdSettingsInput } from '../model/irfd';
import { Params } from '../model/nn';
import type { SpeakStage, SpeakStageName } from './stage';
import type { StageBuilder, StageBuilders } from './train-speak';

const notYet =
  (name: SpeakStageName, file: string): StageBuilder =>
  () => {
    throw new Error(`The ${name} stage is not available yet in this build (${file} has no stage factory). Set steps.${name} to 0, or use a build that has it.`);
  };

/** Seeds per stage, so two stages never start from the same random streams. */
const stageSeed = (settings: TalkingHeadSettings, stage: number) => settings.seed * 4 + stage + 1;

const irfd: StageBuilder = ({ clips, settings }) => createIrfdStage(clips, { size: settings.size, lr: settings.lr, ...(settings.model.irfd as IrfdSettingsInput) }, stageSeed(settings, 1));

/**
 * The generator stage with the audio encoder trained alongside it (in its own Params store,
 * `audio.*`, carried as the stage's extraParams), IRFD's encoders frozen, and SyncNet's L_sync
 * when a SyncNet stage was built. `model.generator.audioEncoder` sets the encoder's widths.
 */
const generator: StageBuilder = ({ clips, settings, earlier }) => {
  const { audioEncoder: audioSettings = {}, ...own } = settings.model.generator as Partial<GeneratorStageSettings> & { audioEncoder?: Partial<AudioEncoderSettings> };
  const irfdStage = earlier.irfd;
  if (!irfdStage) throw new Error('The generator stage needs the IRFD stage built before it');
  const arch = irfdArchitecture(irfdStage.params);
  const seed = stageSeed(settings, 2);
  const audio = new Params('audio', seed);
  const first = clips.clips[0];
  if (!first) throw new Error('The generator stage needs at least one clip to train on; the clip set is empty');
  const window = melWindows(first.audio, first.frameCount, { fps: first.fps });
  tf.tidy(() => audioEncoder(audio, tf.zeros([1, window.steps, window.mels]), audioSettings)); // makes its variables before Adam is given them
  const syncnet = earlier.syncnet as (SpeakStage & { syncLoss?: (real: tf.Tensor4D, generated: tf.Tensor4D) => tf.Scalar }) | undefined;
  const stage = createGeneratorStage(
    clips,
    { size: settings.size, learningRate: settings.lr, discriminatorLearningRate: settings.lr, ...own },
    {
      encodeFaces: (images) => encodeFaces(irfdStage.params, images, arch),
      encodeAudio: (mel) => audioEncoder(audio, mel, audioSettings),
      audioVariables: () => audio.trainable(),
      ...(syncnet?.syncLoss ? { syncLoss: syncnet.syncLoss } : {}),
    },
    seed,
  );
  return Object.assign(stage, { extraParams: [audio], extraOptimizers: [stage.discriminatorOptimizer] });
};

export const STAGE_BUILDERS: StageBuilders = {
  syncnet: notYet('syncnet', 'main/speak/model/syncnet.ts'),
  irfd,
  generator,
};
