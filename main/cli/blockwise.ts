/**
 * `blockwise`: train from the command line into the same SQLite database the studio reads
 * (so the run appears in Experiments), with a progress bar and ETA on the terminal; evaluate
 * and export finished runs.
 */
import { DatasetCatalog } from '../data/catalog';
import { CARD_FILE, exportRun } from '../engine/export/tfjs-export';
import type { JobProgress } from '../../shared/api/progress';
import { defaultRunName } from '../../shared/api/run-names';
import { resolveCuts } from '../engine/train/run-config';
import { evaluateRun } from '../engine/train/run-training';
import type { TrainingResult } from '../engine/train/train-run';
import type { TalkingHeadResult } from '../speak/train/train-speak';
import { JobManager } from '../jobs/job-manager';
import { resolveDbPath } from '../platform/paths';
import { isProcessAlive, THIS_PROCESS } from '../platform/process-owner';
import { Store } from '../store';
import { CLI_USAGE, CliError, parseCli } from './args';
import { runSpeak } from './speak';
import { runWorker } from './worker';

function findOrCreateExperiment(store: Store, projectName: string, experimentName: string): number {
  const project = store.projects.list().find((p) => p.name.toLowerCase() === projectName.toLowerCase()) ?? store.projects.create({ name: projectName });
  const experiment =
    store.projects.listExperiments(project.id).find((e) => e.name.toLowerCase() === experimentName.toLowerCase()) ??
    store.projects.createExperiment({ projectId: project.id, name: experimentName, kind: 'local-learning' });
  return experiment.id;
}

const clock = (seconds: number) => {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

function progressBar(stream: NodeJS.WriteStream): (p: JobProgress) => void {
  let lastLine = 0;
  return (p) => {
    const done = (p.epoch - 1 + p.step / p.stepsPerEpoch) / p.epochs;
    const width = 24;
    const filled = Math.round(done * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.losses.map((l) => l.toFixed(3)).join(' ')} ${p.imagesPerSecond.toFixed(0)} img/s ETA ${clock(p.etaSeconds)}`;
    if (stream.isTTY) stream.write(`\r${line.slice(0, (stream.columns ?? 120) - 1).padEnd(Math.min(lastLine, (stream.columns ?? 120) - 1))}`);
    else if (p.step === p.stepsPerEpoch || p.step % 20 === 0) stream.write(`${line}\n`);
    lastLine = line.length;
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'speak') return runSpeak(process.argv.slice(3));
  if (process.argv[2] === 'worker') return runWorker(process.argv.slice(3));
  const cli = parseCli(process.argv.slice(2));
  if (cli.command === 'help') {
    console.log(CLI_USAGE);
    return;
  }
  const store = Store.open(resolveDbPath(cli.db));
  try {
    for (const id of store.runs.recoverInterrupted(THIS_PROCESS.host, isProcessAlive)) console.error(`run ${id} was left running by a process that is gone: marked interrupted (blockwise resume ${id} continues it)`);
    if (cli.command === 'runs') {
      for (const run of store.runs.list({ limit: 20, offset: 0 }).runs) {
        console.log(`${String(run.id).padStart(5)}  ${run.status.padEnd(11)} ${run.name}`);
      }
      return;
    }
    if (cli.command === 'eval') {
      const { accuracy, images } = await evaluateRun({ store, datasets: new DatasetCatalog(store) }, cli.runId!, cli.config.testLimit);
      console.log(`run ${cli.runId}: test accuracy ${(accuracy * 100).toFixed(2)}% on ${images} test images`);
      return;
    }
    if (cli.command === 'export') {
      const result = await exportRun({ store, datasets: new DatasetCatalog(store) }, cli.runId!, cli.out!);
      console.log(`run ${cli.runId}: TF.js layers model exported to ${result.dir}`);
      for (const file of result.files) console.log(`  ${file.name.padEnd(22)} ${kib(file.bytes)}`);
      const { inputShape, classes } = result.card;
      console.log(`input [N, ${inputShape.join(', ')}] normalised as in training (see ${CARD_FILE}); output: logits for ${classes} classes`);
      console.log(`left out: ${result.card.dropped.join(', ') || 'nothing (end-to-end training has no auxiliary networks)'}`);
      return;
    }
    // Training runs as a job in a worker thread, as in the studio; this process writes the store.
    const jobs = new JobManager({ store, datasets: new DatasetCatalog(store) });
    let runId: number;
    if (cli.command === 'resume') {
      console.error(`Resuming run ${cli.runId} (${store.runs.get(cli.runId!).name}) from its last checkpoint in ${store.path}`);
      runId = jobs.resume(cli.runId!).id;
    } else {
      const experimentId = findOrCreateExperiment(store, cli.project, cli.experiment);
      const { config } = cli;
      let cutCount = 0;
      try {
        cutCount = resolveCuts(config).length;
      } catch {
        // A bad split: submit below refuses it with the reason.
      }
      const name = cli.name ?? defaultRunName({ method: config.method, modules: config.method === 'e2e' ? 1 : cutCount + 1, seed: config.seed, depth: config.depth, dataset: config.dataset });
      console.error(`Training ${name} on ${config.dataset} into ${store.path}`);
      runId = jobs.submit({ experimentId, name, kind: 'local-learning', config }).id;
    }
    const showProgress = progressBar(process.stderr);
    jobs.subscribe((update) => {
      if (update.runId === runId && update.type === 'event' && update.event.type === 'progress') showProgress(update.event.progress);
    });
    const { run, result } = await jobs.wait(runId);
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (run.status !== 'done') throw new Error(`run ${runId} ${run.status}${run.error ? `: ${run.error}` : ''}`);
    if (run.kind === 'talking-head') {
      // A resumed talking-head run (blockwise resume): its result is a model folder, not an accuracy.
      console.log(`run ${runId}: talking-head model written to ${(result as TalkingHeadResult).modelDir ?? '(no files: in-memory database)'}`);
      return;
    }
    const { testAccuracy, bestTestAccuracy, peakBytes, backend } = result as TrainingResult;
    console.log(
      `run ${runId}: test accuracy ${(testAccuracy * 100).toFixed(2)}% (best ${(bestTestAccuracy * 100).toFixed(2)}%), ` +
        `peak memory ${(peakBytes / 2 ** 20).toFixed(1)} MiB (tf.profile), backend ${backend}`,
    );
  } finally {
    store.close();
  }
}

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    console.error(error instanceof CliError ? error.message : `blockwise: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(error instanceof CliError ? 2 : 1);
  });
