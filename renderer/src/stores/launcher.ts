/**
 * The launcher's last values (epochs, limits, schedule, seeds, method parameters...), so it opens
 * as it was left, also after a restart (localStorage). The data set, method and batch size come
 * from the split editor each time it opens.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { LAUNCHER_KEY, type LauncherForm, restoreLauncher } from './launcher-memory';

export const useLauncherStore = defineStore('launcher', () => {
  const form = ref<LauncherForm>(restoreLauncher(localStorage.getItem(LAUNCHER_KEY)));
  watch(
    form,
    (value) => {
      const { name: _name, ...kept } = value;
      localStorage.setItem(LAUNCHER_KEY, JSON.stringify(kept));
    },
    { deep: true },
  );
  return { form };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useLauncherStore, import.meta.hot));
