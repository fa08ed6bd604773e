/**
 * What the task launchers (SrLaunchFields.vue, DetLaunchFields.vue) share: one run per seed in
 * the seeds field, each run's settings checked with the engine's own schema before anything is
 * sent, and the problems found: by field (beside the form's items) or in general (listed below).
 */
import { computed, ref } from 'vue';
import type { ZodType } from 'zod';
import { BACKEND_IDS } from '../../../shared/ids';
import { sortProblems } from '../help/field-problems';
import type { NewRunRequest } from '../stores/training';

export const backendOptions = [{ label: 'Best available', value: 'auto' }, ...BACKEND_IDS.map((b) => ({ label: b, value: b }))];

export interface TaskLaunch {
  form: { seeds: string };
  schema: ZodType;
  configFor: (seed: number) => Record<string, unknown>;
  /** The queued run's kind and name. */
  runOf: (seed: number, config: Record<string, unknown>) => Pick<NewRunRequest, 'kind' | 'name'>;
  /** Field problems the schema cannot see, found first. */
  precheck?: () => Record<string, string>;
  /** Schema paths (first two keys) to this form's own fields; the shared field map knows the common ones. */
  ownFields?: Record<string, string>;
}

export function useTaskLaunch(launch: TaskLaunch) {
  const problems = ref<string[]>([]);
  const fieldProblems = ref<Record<string, string>>({});
  const problemAt = (key: string) => (fieldProblems.value[key] ? { feedback: fieldProblems.value[key], validationStatus: 'error' as const } : {});
  const seeds = computed(() => launch.form.seeds.split(/[\s,]+/).filter(Boolean).map(Number));
  const runCount = computed(() => Math.max(1, seeds.value.length));

  /** The runs to queue, or null when a problem is shown. */
  function requests(experimentId: number): NewRunRequest[] | null {
    const fields: Record<string, string> = {};
    const found: string[] = [];
    if (!seeds.value.length || seeds.value.some((s) => !Number.isInteger(s) || s < 0)) fields.seeds = 'Seeds: give whole numbers ≥ 0 separated by commas, e.g. 0, 1, 2.';
    Object.assign(fields, launch.precheck?.());
    const ownKey = (i: { path: readonly PropertyKey[] }) => launch.ownFields?.[i.path.slice(0, 2).map(String).join('.')];
    const out: NewRunRequest[] = [];
    for (const seed of seeds.value) {
      const config = launch.configFor(seed);
      const parsed = launch.schema.safeParse(config);
      if (!parsed.success) {
        const own = parsed.error.issues.filter((i) => ownKey(i));
        for (const issue of own) fields[ownKey(issue)!] ??= `${issue.path.map(String).join('.')}: ${issue.message}`;
        const sorted = sortProblems(parsed.error.issues.filter((i) => !own.includes(i)));
        for (const [key, text] of Object.entries(sorted.fields)) fields[key] ??= text;
        found.push(...sorted.general);
        continue;
      }
      out.push({ experimentId, ...launch.runOf(seed, config), config });
    }
    problems.value = [...new Set(found)];
    fieldProblems.value = fields;
    return found.length || Object.keys(fields).length ? null : out;
  }

  /** A message from the host (a refusal naming the field) shown with the rest. */
  function showProblem(text: string) {
    problems.value = [text];
  }

  return { problems, problemAt, runCount, requests, showProblem };
}
