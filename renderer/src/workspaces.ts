/**
 * The studio's workspaces. A new workspace (data sets, talking heads, GLCAN...) is one entry
 * here plus its view; navigation, routes and keyboard shortcuts follow from this list.
 */
import type { Component } from 'vue';

export interface Workspace {
  id: string;
  title: string;
  /** One line under the title, saying what the workspace is for. */
  summary: string;
  /** What to do first while the workspace is empty or not yet available. */
  firstSteps: string[];
  view: () => Promise<Component>;
}

export const WORKSPACES: readonly Workspace[] = [
  {
    id: 'experiments',
    title: 'Experiments',
    summary: 'Projects, experiments and every run recorded in the studio database.',
    firstSteps: [
      'Create a project to hold your experiments.',
      'Add an experiment for one question, e.g. "InfoPro vs end-to-end on MNIST".',
      'Runs you train appear under it with their config, metrics and environment.',
    ],
    view: () => import('./views/ExperimentsView.vue'),
  },
  {
    id: 'datasets',
    title: 'Data sets',
    summary: 'The built-in MNIST and the data sets you import: classes, counts and sample images.',
    firstSteps: [
      'MNIST is built in: select it to see its classes and sample digits.',
      'Import CIFAR-10, SVHN or STL-10 from their official files, or any folder of images with one sub-folder per class.',
      'Every training run picks its data set from this list.',
    ],
    view: () => import('./views/DatasetsView.vue'),
  },
  {
    id: 'split',
    title: 'Split editor',
    summary: 'Cut a network into local modules and see what each module costs in memory.',
    firstSteps: [
      'Pick a network (ResNet-8 to ResNet-110) and an input shape; MNIST is built in.',
      'Click the gap between two blocks to cut there, or start from a paper preset (K = 2, 4, 8, 16).',
      'Compare the split\'s estimated peak memory with end-to-end backprop, then launch training.',
    ],
    view: () => import('./views/SplitEditorView.vue'),
  },
  {
    id: 'training',
    title: 'Training',
    summary: 'The job queue and every run live: progress, loss per module, accuracy, memory and speed.',
    firstSteps: [
      'Launch runs from the Split editor ("Train this split"); they wait here in order.',
      'Select a run to watch its curves; cancel it, resume an interrupted one, export a finished one.',
    ],
    view: () => import('./views/TrainingView.vue'),
  },
  {
    id: 'compare',
    title: 'Compare',
    summary: 'Runs side by side: accuracy against peak memory, curves, and what differs in their configs.',
    firstSteps: [
      'Train at least two runs, e.g. InfoPro at K = 4 and its end-to-end baseline.',
      'Tick them in the runs table: the comparison appears below it.',
      'Export the comparison as CSV, Markdown or a LaTeX table laid out like the papers\'.',
    ],
    view: () => import('./views/CompareView.vue'),
  },
  {
    id: 'talking-head',
    title: 'Talking head',
    summary: 'One face image plus speech, with emotion and head pose set by sliders (SPEAK).',
    firstSteps: [
      'Pick a face (a corpus person, the bundled portrait, or your photo) and type a sentence or load a WAV.',
      'Set the emotion mix, its intensity and the head pose with the sliders; add pose keys on the timeline.',
      'Generate (a job in the queue), play it with its sound, and export a WebM or PNG frames + WAV.',
    ],
    view: () => import('./views/TalkingHeadView.vue'),
  },
];

export function workspaceById(id: string): Workspace | undefined {
  return WORKSPACES.find((w) => w.id === id);
}
