/**
 * A task run's latest preview (super-resolution or detection), loaded again whenever the run or
 * `version` (the number of evaluations so far) changes; a failed load is kept as `problem`.
 */
import { type Ref, ref, watch } from 'vue';
import type { RunPreview } from '../../../shared/api/schemas';
import { studioApi } from '../api/studio';

type PreviewOf<T extends RunPreview['task']> = Extract<RunPreview, { task: T }>;

export function useRunPreview<T extends RunPreview['task']>(task: T, props: { runId: number; version: number }): { preview: Ref<PreviewOf<T> | null>; problem: Ref<string | null> } {
  const preview = ref(null) as Ref<PreviewOf<T> | null>;
  const problem = ref<string | null>(null);
  async function load() {
    try {
      const found = await studioApi.call('runs:preview', { id: props.runId });
      preview.value = found?.task === task ? (found as PreviewOf<T>) : null;
      problem.value = null;
    } catch (error) {
      problem.value = error instanceof Error ? error.message : String(error);
    }
  }
  watch(() => [props.runId, props.version], load, { immediate: true });
  return { preview, problem };
}
