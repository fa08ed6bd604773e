/** Host facts for the status bar, and the colour theme. */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { AppInfo } from '../../../shared/api/schemas';
import { studioApi } from '../api/studio';

export type ThemeChoice = 'light' | 'dark' | 'system';
const THEME_KEY = 'blockwise.theme';

export const useAppStore = defineStore('app', () => {
  const info = ref<AppInfo | null>(null);
  const error = ref<string | null>(null);
  const themeChoice = ref<ThemeChoice>(readTheme());
  const systemDark = ref(window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false);
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', (e) => (systemDark.value = e.matches));

  const dark = computed(() => (themeChoice.value === 'system' ? systemDark.value : themeChoice.value === 'dark'));
  const preferredBackend = computed(() => info.value?.backends.find((b) => b.id === info.value?.preferredBackend) ?? null);

  watch(themeChoice, (choice) => localStorage.setItem(THEME_KEY, choice));

  async function load() {
    try {
      info.value = await studioApi.call('app:info', {});
      error.value = null;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function toggleTheme() {
    themeChoice.value = dark.value ? 'light' : 'dark';
  }

  return { info, error, themeChoice, dark, preferredBackend, load, toggleTheme };
});

function readTheme(): ThemeChoice {
  const saved = localStorage.getItem(THEME_KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useAppStore, import.meta.hot));
