/**
 * The kinds of job, worker side: what runs inside a job worker (or in-process) for each kind.
 * A runner reports through `emit`, checks `shouldStop` between steps and resolves with its
 * result; ./kinds.ts is the main side of the same registry.
 */
import type { JobKind } from '../../shared/ids';
import { type DecodeCheckRequest, runDecodeCheck } from '../data/decode-check';
import { probeSplitMemory, type SplitProbeRequest } from '../engine/memory/probe-split';
import { type TrainingJob, trainRun } from '../engine/train/train-run';
import { evaluateRunInWorker, type RunEvaluationRequest } from '../engine/train/evaluate-run';
import { generateToFolder, type GenerateRequest } from '../speak/train/generate-task';
import { type TalkingHeadJob, trainSpeak } from '../speak/train/train-speak';
import { type DetectionJob, trainDetection } from './detection-run';
import type { EmitJobEvent } from './events';
import { type SuperResolutionJob, trainSuperResolution } from './super-resolution-run';
import { probeTaskMemory, type TaskProbeRequest } from './task-memory-probe';
import { type ClipJob, generateEditorClip } from './talking-head-generate-task';

export type JobRunner = (payload: unknown, emit: EmitJobEvent, shouldStop: () => boolean) => Promise<unknown>;

/** A run's kind, or a short task that records nothing (run with ./worker-task.ts). */
export type RunnerName = JobKind | 'memory-probe' | 'task-memory-probe' | 'dataset-decode' | 'run-evaluate' | 'speak-generate';

export const RUNNERS: Partial<Record<RunnerName, JobRunner>> = {
  'local-learning': (payload, emit, shouldStop) => trainRun(payload as TrainingJob, emit, shouldStop),
  'talking-head': (payload, emit, shouldStop) => trainSpeak(payload as TalkingHeadJob, emit, shouldStop),
  'super-resolution': (payload, emit, shouldStop) => trainSuperResolution(payload as SuperResolutionJob, emit, shouldStop),
  detection: (payload, emit, shouldStop) => trainDetection(payload as DetectionJob, emit, shouldStop),
  'talking-head-clip': (payload, emit, shouldStop) => generateEditorClip(payload as ClipJob, emit, shouldStop),
  'memory-probe': (payload) => probeSplitMemory(payload as SplitProbeRequest),
  'task-memory-probe': (payload) => probeTaskMemory(payload as TaskProbeRequest),
  'dataset-decode': (payload) => runDecodeCheck(payload as DecodeCheckRequest),
  'run-evaluate': (payload) => evaluateRunInWorker(payload as RunEvaluationRequest),
  // A talking-head clip from a trained model: a task, not a run (no losses, checkpoints or resume).
  'speak-generate': (payload, emit, shouldStop) => generateToFolder(payload as GenerateRequest, emit, shouldStop),
};
