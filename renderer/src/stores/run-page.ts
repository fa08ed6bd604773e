/**
 * One run's page: its details (settings, environment, times, files, event log) and, for a
 * finished run, its network evaluated on the test set (confusion matrix, predictions), which is
 * computed once per visit in a job worker on the host.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref } from 'vue';
import type { RunDetails, RunEvaluation } from '../../../shared/api/schemas';
import { studioApi } from '../api/studio';

export const useRunPageStore = defineStore('run-page', () => {
  const runId = ref<number | null>(null);
  const details = ref<RunDetails | null>(null);
  const evaluation = ref<RunEvaluation | null>(null);
  const evaluating = ref(false);
  /** Why the page or its evaluation could not be shown, in words. */
  const error = ref<string | null>(null);
  const evaluationError = ref<string | null>(null);

  async function load(id: number) {
    runId.value = id;
    details.value = null;
    evaluation.value = null;
    error.value = null;
    evaluationError.value = null;
    if (!(Number.isInteger(id) && id > 0)) return void (error.value = 'A run is named by a whole number, as in #/runs/12.');
    try {
      const loaded = await studioApi.call('runs:details', { id });
      if (runId.value !== id) return;
      details.value = loaded;
    } catch (e) {
      const notFound = (e as { code?: string } | null)?.code === 'not_found';
      error.value = notFound ? `Run ${id} does not exist: it may have been deleted, or the link is wrong.` : `Run ${id} could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
      return;
    }
    if (details.value.artifacts.some((a) => a.kind === 'weights')) await evaluate(id);
  }

  /** The run changed on the host (it ended, was tagged, exported): details again, and its evaluation once its weights exist. */
  async function refresh() {
    const id = runId.value;
    if (id === null || !details.value) return;
    const loaded = await studioApi.call('runs:details', { id }).catch(() => null);
    if (!loaded || runId.value !== id) return;
    details.value = loaded;
    if (!evaluation.value && !evaluating.value && loaded.artifacts.some((a) => a.kind === 'weights')) await evaluate(id);
  }

  async function evaluate(id: number) {
    evaluating.value = true;
    evaluationError.value = null;
    try {
      const result = await studioApi.call('runs:evaluate', { id, samples: 12 });
      if (runId.value === id) evaluation.value = result;
    } catch (e) {
      if (runId.value === id) evaluationError.value = e instanceof Error ? e.message : String(e);
    } finally {
      evaluating.value = false;
    }
  }

  return { runId, details, evaluation, evaluating, error, evaluationError, load, refresh, evaluate };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useRunPageStore, import.meta.hot));
