/**
 * How the talking-head job builds each SPEAK stage: the model modules' factories, given the
 * clips, that stage's own settings (`settings.model.<stage>`), the run's seed and the stages
 * built before it. A stage whose module is not in this build refuses with a clear message.
 */
import type { SpeakStageName } from './stage';
import type { StageBuilder, StageBuilders } from './train-speak';

const notYet =
  (name: SpeakStageName, file: string): StageBuilder =>
  () => {
    throw new Error(`The ${name} stage is not available yet in this build (${file} has no stage factory). Set steps.${name} to 0, or use a build that has it.`);
  };

export const STAGE_BUILDERS: StageBuilders = {
  syncnet: notYet('syncnet', 'main/speak/model/syncnet.ts'),
  irfd: notYet('irfd', 'main/speak/model/irfd.ts'),
  generator: notYet('generator', 'main/speak/model/generator-stage.ts'),
};
