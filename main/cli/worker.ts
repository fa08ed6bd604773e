/**
 * `blockwise worker --redis URL [--concurrency N] [--backend B] [--name NAME] [--stall-ms N]`:
 * train runs queued on a Redis (BullMQ) queue by any studio, until Ctrl+C (which lets the
 * running runs end first; a second Ctrl+C stops at once, leaving them to the stalled check).
 */
import os from 'node:os';
import { BACKEND_IDS, type BackendId } from '../../shared/ids';
import { checkRedisUrl, maskRedisUrl } from '../remote/connection';
import { RemoteWorker } from '../remote/remote-worker';
import { CliError } from './args';

export const WORKER_USAGE = `Usage: blockwise worker --redis URL [--concurrency N] [--backend B] [--name NAME] [--stall-ms N]
  --redis URL        the studio's Redis: redis://HOST:PORT, redis://:PASSWORD@HOST:PORT, rediss://... for TLS
                     (or the BLOCKWISE_REDIS_URL environment variable, which keeps a password off the command line)
  --concurrency N    runs trained at once, each in its own worker thread [1]
  --backend B        train every run on this backend: ${BACKEND_IDS.join(', ')} [the best present]
  --name NAME        the name the studio's workers list shows [HOST-PID]
  --stall-ms N       BullMQ lock duration: a worker silent this long (killed, network lost) has its
                     run marked interrupted within about 2 x N [10000]`;

export interface WorkerCli {
  url: string;
  concurrency: number;
  backend?: BackendId | undefined;
  name?: string | undefined;
  stallMs: number;
}

export function parseWorkerCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): WorkerCli | 'help' {
  let url = env.BLOCKWISE_REDIS_URL;
  const out: Partial<WorkerCli> = { concurrency: 1, stallMs: 10_000 };
  const wholeNumber = (flag: string, text: string | undefined, min: number, max: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new CliError(`${flag} needs a whole number from ${min} to ${max}, got "${text ?? ''}".`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new CliError(`${flag} needs a value.\n${WORKER_USAGE}`);
      return next;
    };
    switch (flag) {
      case 'help':
      case '--help':
        return 'help';
      case '--redis':
        url = value();
        break;
      case '--concurrency':
        out.concurrency = wholeNumber(flag, value(), 1, 64);
        break;
      case '--stall-ms':
        out.stallMs = wholeNumber(flag, value(), 1000, 600_000);
        break;
      case '--backend': {
        const backend = value();
        if (!(BACKEND_IDS as readonly string[]).includes(backend)) throw new CliError(`--backend must be one of ${BACKEND_IDS.join(', ')}, got "${backend}".`);
        out.backend = backend as BackendId;
        break;
      }
      case '--name': {
        const name = value();
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new CliError(`--name takes 1 to 64 letters, digits, dots, dashes or underscores, got "${name}".`);
        out.name = name;
        break;
      }
      default:
        throw new CliError(`Unknown option "${flag}" of blockwise worker.\n${WORKER_USAGE}`);
    }
  }
  if (!url) throw new CliError(`blockwise worker needs the Redis URL: --redis redis://HOST:PORT (or BLOCKWISE_REDIS_URL).\n${WORKER_USAGE}`);
  try {
    url = checkRedisUrl(url);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  return { ...(out as WorkerCli), url };
}

export async function runWorker(argv: readonly string[]): Promise<void> {
  const cli = parseWorkerCli(argv);
  if (cli === 'help') {
    console.log(WORKER_USAGE);
    return;
  }
  console.error(`[worker] connecting to ${maskRedisUrl(cli.url)} from ${os.hostname()}`);
  const worker = await RemoteWorker.start(cli);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.error('[worker] stopping after the running runs end (Ctrl+C again to stop now)');
      void worker.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
