/**
 * The studio's real `npm start` process (main/start.ts) bundled into a test's folder with the
 * CLI and the job worker beside it, as scripts/build.mjs bundles dist/main/start.cjs: tests run
 * the current sources as a separate process and can kill it, however it misbehaves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';
import { NODE_BUNDLE } from '../../scripts/node-bundle.mjs';
import { buildCli } from './cli';

export interface HostBundle {
  start: string;
  cli: string;
  env: NodeJS.ProcessEnv;
}

export async function buildHost(dir: string): Promise<HostBundle> {
  const { cli, env } = await buildCli(dir);
  const start = path.join(dir, 'start.cjs');
  await build({ ...NODE_BUNDLE, entryPoints: ['main/start.ts'], outfile: start, logLevel: 'error' });
  return { start, cli, env };
}

export interface HostProcess {
  child: ChildProcess;
  origin: string;
  token: string;
  /** Everything the process printed so far. */
  output(): string;
}

/** Start the host and wait for its URL; rejects with its output if it exits or prints none in time. */
export function startHost(bundle: HostBundle, args: string[], timeoutMs = 20_000): Promise<HostProcess> {
  const child = spawn(process.execPath, [bundle.start, ...args], { env: bundle.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the host printed no URL within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /web host: (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, origin: match[1]!, token: match[2]!, output: () => output });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the host exited with ${code}:\n${output}`));
    });
  });
}

/** Run the host to its exit, or SIGKILL it after `timeoutMs`; how it ended and what it printed. */
export function runHostToExit(bundle: HostBundle, args: string[], timeoutMs: number): Promise<{ code: number | null; killed: boolean; ms: number; output: string }> {
  const started = Date.now();
  const child = spawn(process.execPath, [bundle.start, ...args], { env: bundle.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, ms: Date.now() - started, output });
    }),
  );
}
