/** The handlers of every contract operation, written once against the services and shared by both hosts. */
import type { StudioEvent } from '../../shared/api/contract';
import type { AppInfo } from '../../shared/api/schemas';
import type { Store } from '../store';
import type { Handlers } from './dispatch';

export interface HandlerContext {
  store: Store;
  /** Host facts fixed at start-up. */
  info: () => AppInfo;
  /** Push an event to every connected renderer. */
  emit: (event: StudioEvent) => void;
}

export function createHandlers({ store, info, emit }: HandlerContext): Handlers {
  const runChanged = (runId: number, experimentId: number) => emit({ name: 'runs:changed', payload: { runId, experimentId } });
  return {
    'app:info': () => info(),
    'projects:list': () => store.projects.list(),
    'projects:create': (args) => {
      const project = store.projects.create(args);
      emit({ name: 'projects:changed', payload: { projectId: project.id } });
      return project;
    },
    'experiments:list': ({ projectId }) => store.projects.listExperiments(projectId),
    'experiments:create': (args) => {
      const experiment = store.projects.createExperiment(args);
      emit({ name: 'experiments:changed', payload: { projectId: experiment.projectId, experimentId: experiment.id } });
      return experiment;
    },
    'runs:list': (query) => store.runs.list(query),
    'runs:get': ({ id }) => store.runs.get(id),
    'runs:metrics': ({ id, scope }) => {
      store.runs.get(id);
      return store.metrics.series(id, scope);
    },
    'runs:update': ({ id, ...patch }) => {
      const run = store.runs.update(id, patch);
      runChanged(run.id, run.experimentId);
      return run;
    },
    'runs:tag': ({ id, add, remove }) => {
      const run = store.runs.tag(id, add, remove);
      runChanged(run.id, run.experimentId);
      return run;
    },
  };
}
