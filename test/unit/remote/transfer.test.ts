/**
 * The remote queue's checks, on a real redis-server: URLs (form, password, a server that does
 * not answer), artifacts through Redis refused on a wrong size or hash before anything is
 * written, the job a worker accepts (validated data only), and a studio whose Redis went away
 * saying so while it keeps training locally.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileManifest, getFiles, putFiles } from '../../../main/remote/artifacts';
import { checkRedisUrl, maskRedisUrl, testRedis } from '../../../main/remote/connection';
import { trainingJobFrom } from '../../../main/remote/remote-job';
import { parseWorkerCli } from '../../../main/cli/worker';
import { createStudio } from '../../../main/studio';
import { freePort, type RedisServer, startRedis, until } from './fixtures';

let secured: RedisServer;
let root: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'blockwise-remote-checks-'));
  secured = await startRedis(['--requirepass', 's3cret']);
}, 30_000);

afterAll(async () => {
  await secured?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('Redis URLs', () => {
  it('refuses what is not a Redis URL, saying how to write one', () => {
    expect(() => checkRedisUrl('localhost:6379')).toThrow(/redis:\/\/HOST:PORT/);
    expect(() => checkRedisUrl('http://localhost:6379')).toThrow(/starts with redis:\/\/ or rediss:\/\//);
    expect(() => checkRedisUrl('redis://localhost:6379/x')).toThrow(/database number/);
    expect(checkRedisUrl(' rediss://:pw@example.org:6380/2 ')).toBe('rediss://:pw@example.org:6380/2');
    expect(maskRedisUrl('redis://:pw@host:1/0')).toBe('redis://:***@host:1/0');
    expect(maskRedisUrl('redis://user:pw@host:1')).toBe('redis://user:***@host:1');
  });

  it('tests a password-protected server: the right password answers, a wrong one or a closed port is explained', async () => {
    const port = secured.port;
    const ok = await testRedis(`redis://:s3cret@127.0.0.1:${port}`);
    expect(ok.version).toMatch(/^\d+\.\d+/);
    await expect(testRedis(`redis://:wrong@127.0.0.1:${port}`)).rejects.toThrow(/did not answer: .*(WRONGPASS|invalid)/i);
    await expect(testRedis(`redis://:wrong@127.0.0.1:${port}`)).rejects.not.toThrow(/wrong@/);
    await expect(testRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow(/NOAUTH|Authentication/i);
    await expect(testRedis(`redis://127.0.0.1:${await freePort()}`)).rejects.toThrow(/ECONNREFUSED.*redis-server runs there/);
  });
});

describe('artifacts through Redis', () => {
  it('carries files in chunks and refuses a changed chunk by its hash, writing nothing', async () => {
    const redis = new Redis(secured.url);
    try {
      const data = Buffer.from(Array.from({ length: (1 << 20) * 2 + 123 }, (_, i) => (i * 7) % 251));
      const manifest = await putFiles(redis, 'test:files', new Map([['weights.bin', data], ['weights.json', Buffer.from('{"a":1}')]]));
      expect(manifest.files.map((f) => [f.name, f.bytes, f.chunks])).toEqual([['weights.bin', data.length, 3], ['weights.json', 7, 1]]);
      const good = path.join(root, 'good');
      await getFiles(redis, 'test:files', manifest, good);
      expect(fs.readFileSync(path.join(good, 'weights.bin')).equals(data)).toBe(true);

      // One byte changed in Redis: same size, other hash.
      await redis.setrange(`test:files:v:${manifest.version}:weights.bin:1`, 10, 'X');
      const bad = path.join(root, 'bad');
      await expect(getFiles(redis, 'test:files', manifest, bad)).rejects.toThrow(/weights.bin of test:files does not match its SHA-256/);
      expect(fs.existsSync(path.join(bad, 'weights.json'))).toBe(false);
      // A chunk cut short: the size check names it.
      await redis.set(`test:files:v:${manifest.version}:weights.json:0`, '{}');
      await expect(getFiles(redis, 'test:files', { ...manifest, files: manifest.files.slice(1) }, bad)).rejects.toThrow(/has \d+ bytes, its manifest says/);
      // A manifest naming a path outside the folder is refused.
      await expect(getFiles(redis, 'test:files', { ...manifest, files: [{ name: '../escape', bytes: 1, sha256: '', chunks: 1 }] }, bad)).rejects.toThrow(/only plain file names/);
      // A new version replaces the old one, whose chunks go.
      const next = await putFiles(redis, 'test:files', new Map([['weights.json', Buffer.from('{}')]]));
      expect((await fileManifest(redis, 'test:files'))?.version).toBe(next.version);
      expect(await redis.exists(`test:files:v:${manifest.version}:weights.bin:0`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('what a worker accepts from the queue', () => {
  const job = { version: 1, studio: 'abcdef0123456789', runId: 4, attempt: 17, kind: 'local-learning', config: { dataset: 'mnist', depth: 8, method: 'dgl', split: 'k2', epochs: 1 }, resume: false };

  it('turns a valid job into the job worker payload, with the worker backend when it forces one', () => {
    const { spec, job: payload } = trainingJobFrom(job, '/tmp/x', 'wasm');
    expect(spec.runId).toBe(4);
    expect(payload.config.backend).toBe('wasm');
    expect(payload.dataset.kind).toBe('mnist');
    expect(payload.filesDir).toBe('/tmp/x');
    expect(payload.cuts.length).toBe(1);
  });

  it('refuses other kinds, extra fields, settings the engine refuses and data sets on the studio disk', () => {
    expect(() => trainingJobFrom({ ...job, kind: 'shell' }, '/tmp/x')).toThrow(/kind: /);
    expect(() => trainingJobFrom({ ...job, script: 'rm -rf /' }, '/tmp/x')).toThrow(/not a Blockwise run this worker accepts/);
    expect(() => trainingJobFrom({ ...job, studio: '../../etc' }, '/tmp/x')).toThrow(/studio/);
    expect(() => trainingJobFrom({ ...job, config: { ...job.config, epochs: -1 } }, '/tmp/x')).toThrow();
    expect(() => trainingJobFrom({ ...job, config: { ...job.config, eval: 'x' } }, '/tmp/x')).toThrow(/eval/);
    expect(() => trainingJobFrom({ ...job, config: { ...job.config, dataset: 'ds-3' } }, '/tmp/x')).toThrow(/only the built-in MNIST trains remotely/);
  });
});

describe('a studio whose Redis goes away', () => {
  it('says so, refuses remote launches saying why, and keeps training on this machine', async () => {
    const server = await startRedis();
    const studio = createStudio({ host: 'web', dbPath: path.join(root, 'gone.sqlite') });
    try {
      const call = async (name: string, input: object) => {
        const reply = await studio.dispatch(name, input);
        if (!reply.ok) throw new Error(reply.error.message);
        return reply.result as Record<string, unknown>;
      };
      expect((await call('remote:configure', { url: server.url })).connected).toBe(true);
      await server.stop();
      const status = await until('the studio to notice', async () => {
        const s = await call('remote:status', {});
        return s.connected === false && s;
      }, 15_000, 100);
      expect(String(status.problem)).toMatch(/ECONNREFUSED|connect|Connection/i);
      const project = await call('projects:create', { name: 'p' });
      const experiment = await call('experiments:create', { projectId: project.id, name: 'e' });
      const config = { depth: 8, method: 'dgl', split: 'k2', epochs: 1, batchSize: 32, trainLimit: 32, testLimit: 32, backend: 'wasm' };
      await expect(call('runs:start', { experimentId: experiment.id, name: 'r', config, target: 'remote' })).rejects.toThrow(/Redis cannot be reached.*train on this machine/);
      // Remote workers train local-learning runs only: a talking-head run is refused by kind, before any connection question.
      await expect(call('runs:start', { experimentId: experiment.id, name: 'head', kind: 'talking-head', config: {}, target: 'remote' })).rejects.toThrow(/local-learning runs only in this version; train this talking-head run on this machine/);
      expect((await call('runs:list', {})).total).toBe(0);
      const local = await call('runs:start', { experimentId: experiment.id, name: 'here', config });
      const { run } = await studio.jobs.wait(local.id as number);
      expect(run.status).toBe('done');
      // Configuring a URL that does not answer changes nothing.
      await expect(call('remote:configure', { url: 'redis://127.0.0.1:1' })).rejects.toThrow(/did not answer/);
    } finally {
      await studio.close();
    }
  }, 60_000);
});

describe('blockwise worker options', () => {
  it('reads the URL from --redis or BLOCKWISE_REDIS_URL and refuses bad values, saying what to give', () => {
    expect(parseWorkerCli(['--redis', 'redis://h:1', '--concurrency', '2', '--backend', 'wasm', '--name', 'gpu-1', '--stall-ms', '5000'], {})).toEqual({ url: 'redis://h:1', concurrency: 2, backend: 'wasm', name: 'gpu-1', stallMs: 5000 });
    expect(parseWorkerCli([], { BLOCKWISE_REDIS_URL: 'rediss://:pw@h:6380' })).toMatchObject({ url: 'rediss://:pw@h:6380', concurrency: 1, stallMs: 10_000 });
    expect(() => parseWorkerCli([], {})).toThrow(/needs the Redis URL: --redis redis:\/\/HOST:PORT/);
    expect(() => parseWorkerCli(['--redis', 'h:1'], {})).toThrow(/redis:\/\/HOST:PORT/);
    expect(() => parseWorkerCli(['--redis', 'redis://h:1', '--concurrency', '0'], {})).toThrow(/--concurrency needs a whole number from 1 to 64, got "0"/);
    expect(() => parseWorkerCli(['--redis', 'redis://h:1', '--backend', 'cuda'], {})).toThrow(/--backend must be one of/);
    expect(() => parseWorkerCli(['--redis', 'redis://h:1', '--name', 'a b'], {})).toThrow(/--name takes/);
    expect(() => parseWorkerCli(['--redis', 'redis://h:1', '--eval', 'x'], {})).toThrow(/Unknown option "--eval"/);
    expect(parseWorkerCli(['help'], {})).toBe('help');
  });
});
