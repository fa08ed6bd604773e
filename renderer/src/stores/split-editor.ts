/**
 * The split being edited: net, data set, batch, method, the cuts with their undo history and the
 * last real measurement.
 * Kept here rather than in the view, so switching workspace and back finds the same split.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { TrainableMethod } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import { CutHistory } from '../split/split-model';

export const useSplitEditorStore = defineStore('split-editor', () => {
  const depth = ref<number>(8);
  const datasetId = ref('mnist');
  const batchSize = ref(64);
  const method = ref<TrainableMethod>('infopro');
  const history = shallowRef(new CutHistory([]));
  const version = ref(0); // bumps on every history change: CutHistory is a plain class
  const cuts = computed<Cut[]>(() => (version.value, history.value.current));
  const canUndo = computed(() => (version.value, history.value.canUndo));
  const canRedo = computed(() => (version.value, history.value.canRedo));
  /** The last real measurement, with what it measured (a changed split or batch makes it stale). */
  const measured = ref<{ key: string; backend: string; peakBytes: number; modulePeakBytes: number[]; endToEndPeakBytes: number } | null>(null);

  function setCuts(next: Cut[]) {
    history.value.set(next);
    version.value++;
  }
  /** A new net has other gaps: start it unsplit, with a fresh history. */
  function resetCuts() {
    history.value = new CutHistory([]);
    version.value++;
  }
  function undo() {
    if (history.value.undo()) version.value++;
  }
  function redo() {
    if (history.value.redo()) version.value++;
  }

  return { depth, datasetId, batchSize, method, cuts, canUndo, canRedo, measured, setCuts, resetCuts, undo, redo };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSplitEditorStore, import.meta.hot));
