/** How training settings and modules are named and coloured across views. */
import type { TrainableMethod } from '../../shared/engine/config';
import type { DetMethodId, SrMethodId } from '../../shared/engine/tasks';
import type { RunStatus } from '../../shared/ids';

export const METHOD_LABELS: Record<TrainableMethod, string> = {
  e2e: 'End-to-end (backprop)',
  greedy: 'Greedy SL',
  dgl: 'DGL',
  infopro: 'InfoPro',
  'infopro+hpff': 'InfoPro + HPFF',
  'dgl+hpff': 'DGL + HPFF',
  'infopro+man': 'InfoPro + MAN',
  'dgl+man': 'DGL + MAN',
};

/** Super-resolution methods in tables (the launcher and run page give GLCAN's full label). */
export const SR_METHOD_SHORT: Record<SrMethodId, string> = { e2e: 'End-to-end (backprop)', local: 'Simple local heads', glcan: 'GLCAN (our reading)' };

/** Detection methods in tables. */
export const DET_METHOD_SHORT: Record<DetMethodId, string> = { e2e: 'End-to-end (backprop)', local: 'DGL-style local heads', glcan: 'GLCAN (our reading)' };

const PALETTE = ['#2080f0', '#18a058', '#f0a020', '#d03050', '#8a2be2', '#0fa5a5', '#c06010', '#6c7a89'];

/** Module k's colour, the same in the split editor and the dashboard's curves. */
export const moduleColour = (index: number): string => PALETTE[index % PALETTE.length]!;

export const STATUS_TYPES: Record<RunStatus, 'default' | 'info' | 'success' | 'warning' | 'error'> = {
  queued: 'default',
  running: 'info',
  done: 'success',
  cancelled: 'warning',
  interrupted: 'warning',
  failed: 'error',
};
