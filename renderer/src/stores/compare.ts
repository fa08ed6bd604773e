/**
 * The runs ticked for comparison, the colour each keeps while ticked (the same in every chart
 * and in the table) and the ones hidden from the charts by a click on the legend.
 */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { assignColours } from '../compare/run-identity';

export const useCompareStore = defineStore('compare', () => {
  const selection = ref<number[]>([]);
  const colours = ref<Record<number, string>>({});
  const hidden = ref<number[]>([]);

  watch(
    selection,
    (ids) => {
      colours.value = assignColours(colours.value, ids);
      hidden.value = hidden.value.filter((id) => ids.includes(id));
    },
    { immediate: true, deep: true },
  );

  function toggleHidden(id: number) {
    hidden.value = hidden.value.includes(id) ? hidden.value.filter((x) => x !== id) : [...hidden.value, id];
  }

  return { selection, colours, hidden, toggleHidden };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useCompareStore, import.meta.hot));
