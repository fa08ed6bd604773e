/**
 * The split being edited: net, data set, batch, method, the cuts with their undo history and the
 * last real measurement.
 * Kept here rather than in the view, so switching workspace and back finds the same split.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { TrainableMethod } from '../../../shared/engine/config';
import type { Cut } from '../../../shared/engine/splits';
import type { DetMethodId, SrMethodId, Task } from '../../../shared/engine/tasks';
import { CutHistory } from '../split/split-model';

export const useSplitEditorStore = defineStore('split-editor', () => {
  const depth = ref<number>(8);
  const datasetId = ref('mnist');
  const batchSize = ref(64);
  const method = ref<TrainableMethod>('infopro');
  const history = shallowRef(new CutHistory<Cut>([]));
  const version = ref(0); // bumps on every history change: CutHistory is a plain class
  const cuts = computed<Cut[]>(() => (version.value, history.value.current));
  const canUndo = computed(() => (version.value, history.value.canUndo));
  const canRedo = computed(() => (version.value, history.value.canRedo));
  /** The last real measurement, with what it measured (a changed split or batch makes it stale). */
  const measured = ref<{ key: string; backend: string; peakBytes: number; modulePeakBytes: number[]; endToEndPeakBytes: number } | null>(null);

  /** The task being split and trained: it picks the net drawn and the launcher's settings. */
  const task = ref<Task>('classification');
  /** The super-resolution net (EDSR) and its cuts (residual block indices a module ends after), with their own undo history. */
  const sr = ref<{ scale: 2 | 3 | 4; features: number; blocks: number; patch: number; method: SrMethodId; datasetId: string | null }>({ scale: 2, features: 16, blocks: 4, patch: 24, method: 'glcan', datasetId: null });
  const srHistory = shallowRef(new CutHistory<number>([1]));
  const srVersion = ref(0);
  const srCuts = computed<number[]>(() => (srVersion.value, srHistory.value.current));
  const srCanUndo = computed(() => (srVersion.value, srHistory.value.canUndo));
  const srCanRedo = computed(() => (srVersion.value, srHistory.value.canRedo));
  function setSrCuts(next: number[]) {
    srHistory.value.set([...next].sort((a, b) => a - b));
    srVersion.value++;
  }
  /** Fewer blocks: cuts past the last block go (a fresh history, as for a new ResNet depth). */
  function resetSrCuts(next: number[]) {
    srHistory.value = new CutHistory<number>(next);
    srVersion.value++;
  }
  function srUndo() {
    if (srHistory.value.undo()) srVersion.value++;
  }
  function srRedo() {
    if (srHistory.value.redo()) srVersion.value++;
  }

  /** The detector (FCOS-style on a small ResNet with an FPN) on the built-in MNIST canvases, and its cuts (backbone block indices). */
  const det = ref<{ canvasSize: number; widths: [number, number, number, number]; blocksPerStage: number; fpn: number; towerConvs: number; method: DetMethodId }>({ canvasSize: 64, widths: [16, 32, 48, 64], blocksPerStage: 1, fpn: 32, towerConvs: 2, method: 'glcan' });
  const detHistory = shallowRef(new CutHistory<number>([1]));
  const detVersion = ref(0);
  const detCuts = computed<number[]>(() => (detVersion.value, detHistory.value.current));
  const detCanUndo = computed(() => (detVersion.value, detHistory.value.canUndo));
  const detCanRedo = computed(() => (detVersion.value, detHistory.value.canRedo));
  function setDetCuts(next: number[]) {
    detHistory.value.set([...next].sort((a, b) => a - b));
    detVersion.value++;
  }
  function resetDetCuts(next: number[]) {
    detHistory.value = new CutHistory<number>(next);
    detVersion.value++;
  }
  function detUndo() {
    if (detHistory.value.undo()) detVersion.value++;
  }
  function detRedo() {
    if (detHistory.value.redo()) detVersion.value++;
  }

  function setCuts(next: Cut[]) {
    history.value.set(next);
    version.value++;
  }
  /** A new net has other gaps: start it unsplit, with a fresh history. */
  function resetCuts() {
    history.value = new CutHistory<Cut>([]);
    version.value++;
  }
  function undo() {
    if (history.value.undo()) version.value++;
  }
  function redo() {
    if (history.value.redo()) version.value++;
  }

  return { depth, datasetId, batchSize, method, cuts, canUndo, canRedo, measured, setCuts, resetCuts, undo, redo, task, sr, srCuts, srCanUndo, srCanRedo, setSrCuts, resetSrCuts, srUndo, srRedo, det, detCuts, detCanUndo, detCanRedo, setDetCuts, resetDetCuts, detUndo, detRedo };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useSplitEditorStore, import.meta.hot));
