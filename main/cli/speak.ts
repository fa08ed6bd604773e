/** `blockwise speak ...`: the talking-head commands. Today: `speak corpus`, the procedural training corpus. */
import { EMOTIONS, isEmotion, type Emotion } from '../speak/corpus/emotions';
import { writeCorpus, type CorpusOptions, type CorpusProgress } from '../speak/corpus/corpus-writer';
import { CliError } from './args';

export const SPEAK_USAGE = `Usage: blockwise speak corpus --out DIR --identities N --seed S [options]
  Render the procedural talking-face corpus (needs espeak-ng) as MEAD-style folders:
  DIR/<identity>/<emotion>/level_<k>/<clip>/ with PNG frames at 25 fps, audio.wav, labels.json
  (68 landmarks, yaw/pitch/roll, emotion, intensity, blink, viseme, loudness per frame).
  --size PX               frame side, 64..256 [128]
  --clips-per-emotion N   clips per identity, emotion and level [1]
  --emotions LIST         comma-separated subset of ${EMOTIONS.join(',')} [all]
  --levels LIST           intensity levels, subset of 1,2,3 [1,2,3] (neutral has level 1 only)
  --max-frames N          cut every clip to N frames (quick previews) [whole sentence]`;

export interface SpeakCorpusCommand {
  command: 'corpus';
  options: Omit<CorpusOptions, 'onProgress'>;
}

const wholeNumber = (flag: string, value: string | undefined): number => {
  if (value === undefined || !/^\d+$/.test(value)) throw new CliError(`${flag} needs a whole number (got ${value ?? 'nothing'}).\n${SPEAK_USAGE}`);
  return Number(value);
};

export function parseSpeakCli(argv: readonly string[]): SpeakCorpusCommand | { command: 'help' } {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') return { command: 'help' };
  if (sub !== 'corpus') throw new CliError(`Unknown speak command "${sub}".\n${SPEAK_USAGE}`);
  const options: Partial<CorpusOptions> = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    const value = rest[i + 1];
    i++;
    switch (flag) {
      case '--out':
        if (!value || value.startsWith('--')) throw new CliError(`--out needs a folder.\n${SPEAK_USAGE}`);
        options.out = value;
        break;
      case '--identities': options.identities = wholeNumber(flag, value); break;
      case '--seed': options.seed = wholeNumber(flag, value); break;
      case '--size': options.size = wholeNumber(flag, value); break;
      case '--clips-per-emotion': options.clipsPerEmotion = wholeNumber(flag, value); break;
      case '--max-frames': options.maxFrames = wholeNumber(flag, value); break;
      case '--levels': options.levels = (value ?? '').split(',').map((v) => wholeNumber(flag, v)); break;
      case '--emotions': {
        const list = (value ?? '').split(',').map((v) => v.trim().toLowerCase());
        for (const e of list) if (!isEmotion(e)) throw new CliError(`"${e}" is not a MEAD emotion; choose from ${EMOTIONS.join(', ')}.`);
        options.emotions = list as Emotion[];
        break;
      }
      default:
        throw new CliError(`Unknown option "${flag}" for blockwise speak corpus.\n${SPEAK_USAGE}`);
    }
  }
  for (const [key, flag] of [['out', '--out DIR'], ['identities', '--identities N'], ['seed', '--seed S']] as const) {
    if (options[key] === undefined) throw new CliError(`blockwise speak corpus needs ${flag}.\n${SPEAK_USAGE}`);
  }
  return { command: 'corpus', options: options as CorpusOptions };
}

function corpusProgress(stream: NodeJS.WriteStream): (p: CorpusProgress) => void {
  const started = Date.now();
  return (p) => {
    const seconds = (Date.now() - started) / 1000;
    const eta = (seconds / p.clipsDone) * (p.clipsTotal - p.clipsDone);
    const width = 24, filled = Math.round((p.clipsDone / p.clipsTotal) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] clip ${p.clipsDone}/${p.clipsTotal} ${p.clip}  ${p.framesDone} frames, ${(p.framesDone / Math.max(seconds, 1e-3)).toFixed(1)} frames/s, ETA ${Math.round(eta)} s`;
    if (stream.isTTY) stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd((stream.columns ?? 120) - 1)}`);
    else stream.write(`${line}\n`);
  };
}

/** Run `blockwise speak ...` (argv after 'speak'). */
export async function runSpeak(argv: readonly string[]): Promise<void> {
  const cli = parseSpeakCli(argv);
  if (cli.command === 'help') {
    console.log(SPEAK_USAGE);
    return;
  }
  const manifest = writeCorpus({ ...cli.options, onProgress: corpusProgress(process.stderr) });
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(`corpus written to ${cli.options.out}: ${manifest.identities.length} identities, ${manifest.clips.length} clips, ${manifest.totalFrames} frames at ${manifest.size} px (manifest.json)`);
}
