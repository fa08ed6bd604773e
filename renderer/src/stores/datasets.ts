/** Data sets: the built-in MNIST and imported folders, the selected set's samples, and the import flow. */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { DatasetInfo, DatasetPreview, DatasetSamples, ImportAcceptance } from '../../../shared/api/schemas';
import type { DatasetKind } from '../../../shared/ids';
import { studioApi } from '../api/studio';

export interface FolderChoice {
  path: string;
  kind?: DatasetKind | undefined;
  imageSize?: number | undefined;
}

/** Images decoded so far by a running import. */
export interface ImportProgress {
  importId: string;
  done: number;
  total: number;
}

export const useDatasetsStore = defineStore('datasets', () => {
  const datasets = ref<DatasetInfo[]>([]);
  const loaded = ref(false);
  const selectedId = ref<string | null>(null);
  const split = ref<'train' | 'test'>('train');
  const samples = ref<DatasetSamples | null>(null);
  const samplesLoading = ref(false);
  const error = ref<string | null>(null);
  /** The latest progress of the import this window started, while it decodes. */
  const importProgress = ref<ImportProgress | null>(null);
  let importing: string | null = null;

  const selected = computed(() => datasets.value.find((d) => d.id === selectedId.value) ?? null);

  async function load() {
    try {
      datasets.value = await studioApi.call('datasets:list', {});
      loaded.value = true;
      error.value = null;
      if (!selected.value && datasets.value.length) await select(datasets.value[0]!.id);
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  async function select(id: string) {
    selectedId.value = id;
    await loadSamples();
  }

  async function setSplit(value: 'train' | 'test') {
    split.value = value;
    await loadSamples();
  }

  async function loadSamples() {
    const id = selectedId.value;
    if (id === null) return;
    samplesLoading.value = true;
    try {
      const result = await studioApi.call('datasets:samples', { id, split: split.value, perClass: 8 });
      // A newer selection may have landed while this one decoded.
      if (id === selectedId.value) samples.value = result;
      error.value = null;
    } catch (e) {
      samples.value = null;
      error.value = e instanceof Error ? e.message : String(e);
    } finally {
      samplesLoading.value = false;
    }
  }

  /** Errors propagate to the import form, which shows them; nothing is registered on failure. */
  const inspect = (choice: FolderChoice): Promise<DatasetPreview> => studioApi.call('datasets:inspect', choice);

  /** Decodes every image (progress in importProgress), then registers the set; `accept` says what the preview flagged and the user accepted. */
  async function importFolder(choice: FolderChoice & { name: string; accept: ImportAcceptance[] }) {
    const importId = `import-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    importing = importId;
    importProgress.value = null;
    try {
      const dataset = await studioApi.call('datasets:import', { ...choice, importId });
      await load();
      await select(dataset.id);
      return dataset;
    } finally {
      importing = null;
      importProgress.value = null;
    }
  }

  /** Stops this window's running import; its call then fails saying nothing was registered. */
  async function cancelImport() {
    if (importing) await studioApi.call('datasets:cancelImport', { importId: importing });
  }

  async function remove(id: string) {
    await studioApi.call('datasets:remove', { id });
    if (selectedId.value === id) {
      selectedId.value = null;
      samples.value = null;
    }
    await load();
  }

  const pickFolder = async (): Promise<string | null> => (await studioApi.call('dialog:pickFolder', { title: 'Choose a data set folder' })).path;

  function listen() {
    return studioApi.subscribe((event) => {
      if (event.name === 'datasets:changed') void load();
      else if (event.name === 'datasets:importProgress' && event.payload.importId === importing) importProgress.value = event.payload;
    });
  }

  return {
    datasets,
    loaded,
    selectedId,
    selected,
    split,
    samples,
    samplesLoading,
    error,
    importProgress,
    load,
    select,
    setSplit,
    inspect,
    importFolder,
    cancelImport,
    remove,
    pickFolder,
    listen,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useDatasetsStore, import.meta.hot));
