/** Projects, their experiments and the selected experiment's runs, kept live by the host's events. */
import { acceptHMRUpdate, defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Experiment, Project, Run } from '../../../shared/api/schemas';
import type { JobKind } from '../../../shared/ids';
import { studioApi } from '../api/studio';

export const useProjectsStore = defineStore('projects', () => {
  const projects = ref<Project[]>([]);
  const loaded = ref(false);
  const selectedProjectId = ref<number | null>(null);
  const experiments = ref<Experiment[]>([]);
  const selectedExperimentId = ref<number | null>(null);
  const runs = ref<Run[]>([]);
  const runTotal = ref(0);
  const error = ref<string | null>(null);

  const selectedProject = computed(() => projects.value.find((p) => p.id === selectedProjectId.value) ?? null);
  const selectedExperiment = computed(() => experiments.value.find((e) => e.id === selectedExperimentId.value) ?? null);

  async function guard(work: () => Promise<void>) {
    try {
      await work();
      error.value = null;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  const loadProjects = () =>
    guard(async () => {
      projects.value = await studioApi.call('projects:list', {});
      loaded.value = true;
      if (selectedProjectId.value === null && projects.value.length) await selectProject(projects.value[0]!.id);
    });

  const selectProject = (id: number) =>
    guard(async () => {
      selectedProjectId.value = id;
      experiments.value = await studioApi.call('experiments:list', { projectId: id });
      await selectExperiment(experiments.value[0]?.id ?? null);
    });

  const selectExperiment = (id: number | null) =>
    guard(async () => {
      selectedExperimentId.value = id;
      const page = id === null ? { total: 0, runs: [] } : await studioApi.call('runs:list', { experimentId: id, limit: 100 });
      runs.value = page.runs;
      runTotal.value = page.total;
    });

  /** Errors propagate so a form can show them beside the field; nothing is half-created. */
  async function createProject(name: string, description: string) {
    const project = await studioApi.call('projects:create', { name, description });
    await loadProjects();
    await selectProject(project.id);
    return project;
  }

  async function createExperiment(name: string, kind: JobKind, description: string) {
    if (selectedProjectId.value === null) throw new Error('Select a project first.');
    const experiment = await studioApi.call('experiments:create', { projectId: selectedProjectId.value, name, kind, description });
    // The project list carries each project's experiment count: read it again too.
    await loadProjects();
    await selectProject(selectedProjectId.value);
    await selectExperiment(experiment.id);
    return experiment;
  }

  /** Keep lists current when another window, the CLI or a job changes them. */
  function listen() {
    return studioApi.subscribe((event) => {
      if (event.name === 'projects:changed') void loadProjects();
      else if (event.name === 'experiments:changed') {
        // Another window, the launcher or the CLI added one: the counts change, and the open project's list.
        void loadProjects();
        if (event.payload.projectId === selectedProjectId.value) void selectProject(event.payload.projectId);
      }
      else if (event.name === 'runs:changed' && event.payload.experimentId === selectedExperimentId.value) void selectExperiment(selectedExperimentId.value);
    });
  }

  return {
    projects,
    loaded,
    selectedProjectId,
    selectedProject,
    experiments,
    selectedExperimentId,
    selectedExperiment,
    runs,
    runTotal,
    error,
    loadProjects,
    selectProject,
    selectExperiment,
    createProject,
    createExperiment,
    listen,
  };
});

if (import.meta.hot) import.meta.hot.accept(acceptHMRUpdate(useProjectsStore, import.meta.hot));
