/**
 * Every method word the studio shows, explained in two or three sentences for someone who knows
 * W&B or MLflow but not local learning. One place, so the split editor, launcher, dashboard and
 * compare view say the same thing (help/HelpTip.vue shows an entry beside the word).
 */
export interface GlossaryEntry {
  /** The word as the UI shows it. */
  term: string;
  text: string;
}

export const GLOSSARY = {
  k: {
    term: 'K',
    text: 'The number of modules the network is split into: the cuts plus one. K = 1 is ordinary end-to-end training; with K = 4 the net trains as four pieces, each with its own local loss.',
  },
  module: {
    term: 'Module',
    text: 'A run of consecutive layers trained by its own local loss (through a small auxiliary net). No gradient crosses a module boundary, so only one module’s activations need to be kept for its backward pass: that is where the memory saving comes from.',
  },
  aux: {
    term: '1c2f / 2c2f',
    text: 'The shape of the auxiliary net that turns a module’s features into its local loss: 1c2f is one convolution then two fully connected layers, 2c2f two convolutions then two (0c1f: just one linear layer). Bigger auxiliary nets give better local losses and cost more memory and time.',
  },
  contrast: {
    term: 'SupCon (contrast) vs softmax',
    text: 'InfoPro’s task loss for each module. Contrast (supervised contrastive, SupCon) pulls features of the same class together and pushes other classes apart; softmax is plain cross-entropy on a small classifier. InfoPro’s paper uses contrast; HPFF’s and MAN’s nets always use cross-entropy.',
  },
  lambdas: {
    term: 'λx / λy',
    text: 'InfoPro’s local loss is λx × reconstruction (keep information about the input) + λy × task loss (be useful for the label). The weights are set at the first and the last cut and interpolated in between; early modules keep more of the input, later ones focus on the label.',
  },
  execution: {
    term: 'Reference vs lean execution',
    text: 'Reference back-propagates the auxiliary losses exactly as the papers’ code does. Lean computes the same gradients with less memory (one auxiliary loss graph alive at a time; HPFF forwards each segment twice instead of three times). Results match; peaks differ.',
  },
  moduleParallel: {
    term: 'Module-parallel worker threads',
    text: 'Each module trains on its own worker thread, pipelined: module 2 works on batch t while module 1 is on batch t + 1. Same result as training them one after another, faster with several cores. Greedy SL, DGL and InfoPro only.',
  },
  dataParallel: {
    term: 'Data-parallel workers',
    text: 'Each batch is split over this many worker threads; each computes gradients on its share and they are averaged before the update, as on several GPUs. Blank uses every core. Cannot be combined with module-parallel threads yet.',
  },
  greedy: {
    term: 'Greedy SL',
    text: 'Greedy supervised layer-wise learning (Belilovsky et al., 2019): each module gets a small classifier and trains on its own cross-entropy; the next module reads the previous one’s output as fixed input.',
  },
  dgl: {
    term: 'DGL',
    text: 'Decoupled Greedy Learning (Belilovsky et al., 2020): the greedy scheme with every module updating at once, without waiting for the others, each with its own auxiliary classifier. The usual baseline for local learning.',
  },
  infopro: {
    term: 'InfoPro',
    text: 'Information propagation (Wang et al., ICLR 2021): each module’s local loss mixes reconstructing the input (λx) with the task loss (λy), so early modules do not throw away information later layers need. Closes most of the gap to end-to-end at a fraction of its memory.',
  },
  hpff: {
    term: 'HPFF / PFF',
    text: 'Hierarchical Patch Feature Fusion (ECCV 2024), added on top of InfoPro or DGL: each module is trained by its own auxiliary loss and by a cascade loss over it and the next module; PFF (patch feature fusion) reconstructs the input per image quadrant. Weights w_x (independent) and w_y (cascade) mix the two levels.',
  },
  man: {
    term: 'MAN / EMA',
    text: 'Momentum Auxiliary Network (ECCV 2024), added on top of InfoPro or DGL: each module’s auxiliary net includes an exponential moving average (EMA) of the next module’s weights plus a learnable bias, so a module sees what the next one needs. The decay (e.g. 0.995) sets how slowly the copy follows.',
  },
  trainEvalMode: {
    term: 'train (eval mode)',
    text: 'Accuracy on up to 1,024 training images, measured exactly like test accuracy: the network in evaluation mode (BatchNorm uses its running statistics, no augmentation). Comparable with the test curve; the gap between them is overfitting.',
  },
  tfProfile: {
    term: 'tf.profile peak',
    text: 'The largest amount of tensor memory alive during one training step, as TF.js’s tf.profile reports it: weights, optimizer momentum, activations, gradients and temporaries. It is not the process’s whole memory (no JavaScript heap or runtime).',
  },
} as const satisfies Record<string, GlossaryEntry>;

export type GlossaryTerm = keyof typeof GLOSSARY;

/** The entry explaining a method (e2e needs none); combined methods are explained by what they add. */
export function methodTerm(method: string): GlossaryTerm | null {
  if (method.endsWith('+hpff')) return 'hpff';
  if (method.endsWith('+man')) return 'man';
  return method === 'greedy' || method === 'dgl' || method === 'infopro' ? method : null;
}
