/**
 * The launcher's schema problems in plain words, one per field: the engine's schema (zod) says
 * "expected number, received NaN" once per queued run; a user needs "Epochs: enter a whole number
 * from 1 to 1000" once, beside the Epochs field.
 */

/** The part of a zod issue this reads (zod 4's issue shape; extra fields are ignored). */
export interface SchemaIssue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  expected?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  origin?: string;
}

/** A launcher field: the key its problem is stored under and the label the user reads. */
export interface LauncherField {
  key: string;
  label: string;
}

/** Config paths (first one or two keys) to the launcher field that sets them. */
const FIELDS: Record<string, LauncherField> = {
  epochs: { key: 'epochs', label: 'Epochs' },
  batchSize: { key: 'batchSize', label: 'Batch size' },
  lr: { key: 'lr', label: 'Learning rate' },
  warmupEpochs: { key: 'warmupEpochs', label: 'Warm-up epochs' },
  seed: { key: 'seeds', label: 'Seeds' },
  stages: { key: 'stages', label: 'Worker threads' },
  workers: { key: 'workers', label: 'Data-parallel workers' },
  trainLimit: { key: 'trainLimit', label: 'Training images per epoch' },
  testLimit: { key: 'testLimit', label: 'Test images' },
  dataset: { key: 'dataset', label: 'Data set' },
  'input.pad': { key: 'pad', label: 'Padding' },
  'input.normalization': { key: 'normalization', label: 'Normalisation' },
  'dataSplit.seed': { key: 'splitSeed', label: 'MNIST split seed' },
  'dataSplit.testPerClass': { key: 'testPerClass', label: 'MNIST test images per class' },
  // Super-resolution runs (shared/engine/tasks.ts).
  scale: { key: 'scale', label: 'Scale' },
  features: { key: 'features', label: 'Features F' },
  blocks: { key: 'blocks', label: 'Residual blocks R' },
  cuts: { key: 'cuts', label: 'Cuts' },
  patch: { key: 'patch', label: 'Low-res patch' },
  stepsPerEpoch: { key: 'stepsPerEpoch', label: 'Steps per epoch' },
  evalImages: { key: 'evalImages', label: 'Test images scored' },
  trainImages: { key: 'trainImages', label: 'Training photos read' },
  evalCrop: { key: 'evalCrop', label: 'Evaluation crop' },
};

/** The field a config path belongs to, or null when no single field sets it (the problem is shown above the buttons). */
export function fieldOf(path: readonly PropertyKey[]): LauncherField | null {
  const [first, second] = path.map(String);
  return (second !== undefined ? FIELDS[`${first}.${second}`] : undefined) ?? (first !== undefined ? FIELDS[first] : undefined) ?? null;
}

const bound = (v: number | bigint | undefined) => (v === undefined ? undefined : Number(v));

/** What to enter, in words, for one issue (without the field's label). */
export function plainWords(issue: SchemaIssue): string {
  const min = bound(issue.minimum);
  const max = bound(issue.maximum);
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'number' ? 'enter a number (the field is empty or not a number).' : `enter a ${issue.expected ?? 'value'}.`;
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'string') return `give at least ${min} value${min === 1 ? '' : 's'}.`;
      return min === 0 && issue.inclusive === false ? 'enter a number above 0.' : `enter ${min} or more.`;
    case 'too_big':
      if (issue.origin === 'array' || issue.origin === 'string') return `give at most ${max} values.`;
      return `enter ${max} or less.`;
    case 'invalid_format':
    case 'not_multiple_of':
      return 'enter a whole number.';
    default:
      // Custom checks (the engine's refusals) are already written for people.
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/** Integer checks in zod 4 arrive as invalid_type with expected 'int'. */
function wordsFor(issue: SchemaIssue): string {
  if (issue.code === 'invalid_type' && issue.expected === 'int') return 'enter a whole number.';
  return plainWords(issue);
}

/**
 * Sorts issues into one plain problem per field (the first found wins: the same slip repeated for
 * every queued run is said once) and the rest, which no single field sets, as whole sentences.
 */
export function sortProblems(issues: readonly SchemaIssue[], prefix: (issue: SchemaIssue) => string = () => ''): { fields: Record<string, string>; general: string[] } {
  const fields: Record<string, string> = {};
  const general = new Set<string>();
  for (const issue of issues) {
    const field = fieldOf(issue.path);
    // The engine's own refusals name the field already.
    if (field) fields[field.key] ??= issue.code === 'custom' ? issue.message : `${field.label}: ${wordsFor(issue)}`;
    else general.add(`${prefix(issue)}${issue.path.map(String).join('.') || 'settings'}: ${wordsFor(issue)}`);
  }
  return { fields, general: [...general] };
}
