/** `blockwise` command-line flags, turned into a validated training config. */
import { z } from 'zod';
import { defaultSettings, METHOD_ALIASES, trainConfig, type TrainConfig, trainSettings } from '../../shared/engine/config';
import { settingsNotApplying } from '../../shared/engine/resolve-settings';

export const CLI_USAGE = `Usage: blockwise train [options]      train a network into the studio's database
       blockwise eval RUN [--db PATH] [--test-limit N]   test accuracy of a finished run's saved network
       blockwise resume RUN [--db PATH]  continue a stopped run from its last end-of-epoch checkpoint
       blockwise export RUN --out DIR [--db PATH]   save a finished run's network as a TF.js model
                                        (model.json + weights + card.json) into a new or empty folder
       blockwise runs [--db PATH]       list the newest runs
       blockwise worker --redis URL     train runs queued on a Redis queue by a studio
                                        (blockwise worker help for its options)
       blockwise speak corpus --out DIR --identities N --seed S   render the talking-face corpus
       blockwise speak train --out DIR  train the talking-head model (generate, eval: see speak help)
                                        (blockwise speak help for their options)

Training options (defaults in brackets):
  --dataset ID        mnist or a data set id from the Data sets view (ds-<n>) [mnist]
  --net resnetN       resnet8, resnet14, resnet20, resnet32, resnet56, resnet110 [resnet8]
  --method M          e2e, greedy, dgl, infopro, hpff (= infopro+hpff), man (= infopro+man),
                      dgl+hpff, dgl+man [infopro]
  --split S           a preset (k2, k4 or just 4, per-block, ...) or a cut list like [[1,0],[2,0]] [per-block]
  --aux C             auxiliary classifier of InfoPro, or of HPFF's/MAN's InfoPro base:
                      0c1f 0c2f 1c1f 1c2f 1c3f 2c2f [InfoPro 1c2f, HPFF/MAN 2c2f]
  --lambdas X1,Y1,X2,Y2   loss weights λx, λy at the first and last cut (InfoPro, or HPFF's/MAN's
                      InfoPro base), interpolated between [InfoPro's commands for K; HPFF/MAN:
                      5,0.5,0,0 where that trains every module, else InfoPro's]
  --loss L            InfoPro task loss: contrast or softmax [contrast] (HPFF and MAN: always softmax)
  --pff R             HPFF patch feature fusion: code, paper or none [code; DGL base: none]
  --independent-weight X / --cascade-weight X   HPFF's w_x / w_y [0.001 / 0.999]
  --stem S            HPFF/MAN: fused (the stem trains with the first segment, as their code) or
                      apart (its own module when the split cuts after it, [0,0]) [fused]
  --ema-decay M       MAN's EMA decay m [0.995]
  --man-bias B        MAN's learnable bias: block (code), vector (paper) or none [block]
  --man-lambda I      MAN's loss-weight schedule index: module (r = i / (K - 2)) or stage (code;
                      refused where it leaves a module without gradient) [module]
  --pad N             zero pixels added on every side of every image (MNIST 28 -> 32: 2) [0]
  --mean M[,M,M] --std S[,S,S]   input normalisation per channel [the data set's]
  --split-seed N      built-in MNIST: seed of its train/test shuffle [20261129]
  --test-per-class N / --test-fraction F   built-in MNIST: test images per class / share of each
                      class kept for testing [0.2]
  --execution E       reference (as the papers' code) or lean (same gradients, less memory) [reference]
  --stages N          module-parallel: train the modules on N worker threads, pipelined (greedy, dgl,
                      infopro; same result as 1) [1]
  --workers N         data-parallel: cut every batch into N shards trained on N worker threads, gradients
                      summed (any method; per-shard BatchNorm; not with --stages) [every core]
  --epochs N [1]  --batch N [64]  --lr X [0.1]  --schedule cosine-steps|cosine|step [cosine-steps]  --warmup N [0]
  --seed N [0]  --backend B (tensorflow-gpu, webgpu, tensorflow, wasm, cpu) [best present]
  --train-limit N / --test-limit N   use at most N images per epoch / for testing
  --no-augment        train without the data set's augmentation
  --project NAME [Command line]  --experiment NAME [CLI runs]  --name NAME  --db PATH`;

export class CliError extends Error {}

export interface CliCommand {
  command: 'train' | 'eval' | 'export' | 'resume' | 'runs' | 'help';
  /** The run to evaluate or export. */
  runId?: number;
  /** The folder to export into (export). */
  out?: string;
  db?: string;
  project: string;
  experiment: string;
  name?: string;
  config: TrainConfig;
}

const NUMBER_FLAGS: Record<string, string> = {
  '--epochs': 'epochs',
  '--batch': 'batchSize',
  '--lr': 'lr',
  '--warmup': 'warmupEpochs',
  '--seed': 'seed',
  '--train-limit': 'trainLimit',
  '--test-limit': 'testLimit',
  '--stages': 'stages',
  '--workers': 'workers',
};

/** Flags whose value is a number inside a settings group: flag -> [group, field]. */
const GROUP_NUMBER_FLAGS: Record<string, [string, string]> = {
  '--ema-decay': ['man', 'decay'],
  '--independent-weight': ['hpff', 'independentWeight'],
  '--cascade-weight': ['hpff', 'cascadeWeight'],
  '--pad': ['input', 'pad'],
  '--split-seed': ['dataSplit', 'seed'],
  '--test-per-class': ['dataSplit', 'testPerClass'],
  '--test-fraction': ['dataSplit', 'testFraction'],
};

/** A setting's flag, for messages about it. */
const FLAG_OF: Record<string, string> = {
  auxConfig: '--aux',
  lambdas: '--lambdas',
  lossMode: '--loss',
  pff: '--pff',
  stem: '--stem',
  decay: '--ema-decay',
  bias: '--man-bias',
  lambdaIndex: '--man-lambda',
  independentWeight: '--independent-weight',
  cascadeWeight: '--cascade-weight',
  dataSplit: '--split-seed / --test-per-class / --test-fraction',
};

function numberList(flag: string, text: string, length?: number): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v)) || (length !== undefined && values.length !== length)) {
    throw new CliError(`${flag} takes ${length ?? 'one or more'} comma-separated numbers${flag === '--lambdas' ? ' (λx1,λy1,λx2,λy2, e.g. 6,0,1,2)' : ''}, got "${text}".`);
  }
  return values;
}

export function parseCli(argv: readonly string[]): CliCommand {
  const [command = 'help', ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help', project: '', experiment: '', config: trainConfig.parse({}) };
  if (command !== 'train' && command !== 'eval' && command !== 'export' && command !== 'resume' && command !== 'runs') throw new CliError(`Unknown command "${command}".\n${CLI_USAGE}`);
  const raw: Record<string, unknown> = {};
  const out: Omit<CliCommand, 'config'> = { command, project: 'Command line', experiment: 'CLI runs' };
  if (command === 'eval' || command === 'export' || command === 'resume') {
    const id = Number(rest.shift());
    if (!Number.isInteger(id) || id < 1) throw new CliError(`blockwise ${command} needs a run id (see blockwise runs), e.g. blockwise ${command} 3${command === 'export' ? ' --out model' : ''}.`);
    out.runId = id;
  }
  const infopro: Record<string, unknown> = {};
  const hpff: Record<string, unknown> = {};
  const man: Record<string, unknown> = {};
  const input: Record<string, unknown> = {};
  const groups: Record<string, Record<string, unknown>> = { infopro, hpff, man, input, dataSplit: {} };
  /** Settings of the method's own auxiliary nets (--aux, --lambdas): which group is known once --method is. */
  const methodNets: Record<string, unknown> = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new CliError(`${flag} needs a value.\n${CLI_USAGE}`);
      return v;
    };
    if (flag in GROUP_NUMBER_FLAGS) {
      const text = value();
      const n = Number(text);
      if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number, got "${text}".`);
      const [group, field] = GROUP_NUMBER_FLAGS[flag]!;
      groups[group]![field] = n;
      continue;
    }
    if (flag in NUMBER_FLAGS) {
      const text = value();
      const n = Number(text);
      if (!Number.isFinite(n)) throw new CliError(`${flag} must be a number, got "${text}".`);
      raw[NUMBER_FLAGS[flag]!] = n;
      continue;
    }
    switch (flag) {
      case '--db':
        out.db = value();
        break;
      case '--out':
        if (command !== 'export') throw new CliError(`--out is an option of blockwise export only.`);
        out.out = value();
        break;
      case '--project':
        out.project = value();
        break;
      case '--experiment':
        out.experiment = value();
        break;
      case '--name':
        out.name = value();
        break;
      case '--dataset':
        raw.dataset = value();
        break;
      case '--net': {
        const net = value();
        const match = /^resnet(\d+)$/i.exec(net);
        if (!match) throw new CliError(`--net must look like resnet8 or resnet32, got "${net}".`);
        raw.depth = Number(match[1]);
        break;
      }
      case '--method':
        raw.method = value();
        break;
      case '--split': {
        const split = value().trim();
        raw.split = split.startsWith('[') ? parseCutList(split) : /^\d+$/.test(split) ? `k${split}` : split;
        break;
      }
      case '--aux':
        methodNets.auxConfig = value();
        break;
      case '--lambdas': {
        const flagName = flag;
        const [ixx1, ixy1, ixx2, ixy2] = numberList(flagName, value(), 4);
        methodNets.lambdas = { ixx1, ixy1, ixx2, ixy2 };
        break;
      }
      case '--pff':
        hpff.pff = value();
        break;
      case '--stem':
        // HPFF's or MAN's: whichever the method is (another method is told it does not apply).
        hpff.stem = man.stem = value();
        break;
      case '--mean':
      case '--std': {
        const normalization = (input.normalization ??= {}) as Record<string, unknown>;
        normalization[flag.slice(2)] = numberList(flag, value());
        break;
      }
      case '--man-bias':
        man.bias = value();
        break;
      case '--man-lambda':
        man.lambdaIndex = value();
        break;
      case '--execution':
        raw.execution = value();
        break;
      case '--loss': {
        const loss = value();
        infopro.lossMode = loss === 'softmax' ? 'cross_entropy' : loss;
        break;
      }
      case '--schedule':
        raw.schedule = value();
        break;
      case '--backend':
        raw.backend = value();
        break;
      case '--no-augment':
        raw.augment = false;
        break;
      default:
        throw new CliError(`Unknown option ${flag}.\n${CLI_USAGE}`);
    }
  }
  if (command === 'export' && !out.out) throw new CliError(`blockwise export needs --out DIR, a new or empty folder for the model, e.g. blockwise export ${out.runId} --out model.`);
  // --aux and --lambdas set the method's own nets: InfoPro's, or HPFF's/MAN's on their InfoPro base.
  const method = typeof raw.method === 'string' ? (METHOD_ALIASES[raw.method.toLowerCase()] ?? raw.method.toLowerCase()) : 'infopro';
  const netsGroup = method.endsWith('+hpff') ? hpff : method.endsWith('+man') ? man : infopro;
  Object.assign(netsGroup, methodNets);
  const stemGroup = method.endsWith('+man') ? 'man' : 'hpff';
  if (hpff.stem !== undefined) delete groups[stemGroup === 'man' ? 'hpff' : 'man']!.stem;
  if (input.normalization && !((input.normalization as Record<string, unknown>).mean && (input.normalization as Record<string, unknown>).std)) {
    throw new CliError('--mean and --std go together: give both (one value per channel each, e.g. --mean 0.5 --std 0.5).');
  }
  for (const [key, group] of Object.entries(groups)) if (Object.keys(group).length) raw[key] = group;
  const parsed = trainConfig.safeParse(raw);
  // A flag the method does not read is refused even at its default value (the launcher and the API, which send whole blocks, are held to values other than the default).
  const given = (path: string[]) => (path[0] === 'dataSplit' ? Object.keys(groups.dataSplit!).length > 0 : path[1] !== undefined && groups[path[0]!]?.[path[1]] !== undefined);
  // Checked on the settings as given (before defaults are resolved: DGL+HPFF's "code" PFF resolves to "none").
  const asGiven = trainSettings.safeParse(raw);
  const notApplying = asGiven.success ? settingsNotApplying(asGiven.data, { defaults: defaultSettings(), given }) : [];
  const issues = [...(parsed.success ? [] : parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }))), ...notApplying];
  if (issues.length) {
    const named = issues.map((i) => {
      const flagName = FLAG_OF[i.path[1] ?? i.path[0] ?? ''];
      return `${flagName && (i.path[0] !== 'input' || i.path[1] === undefined) ? `${flagName} (${i.path.join('.')})` : i.path.join('.') || 'options'}: ${i.message}`;
    });
    throw new CliError(`Invalid training settings: ${[...new Set(named)].join('; ')}`.replace(/\.?$/, '.'));
  }
  return { ...out, config: parsed.data! };
}

function parseCutList(text: string): unknown {
  try {
    return z.array(z.tuple([z.number(), z.number()])).parse(JSON.parse(text));
  } catch {
    throw new CliError(`--split ${text} is not a cut list: write pairs [stage, block], e.g. [[1,0],[2,0]].`);
  }
}
