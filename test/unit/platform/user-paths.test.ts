/**
 * Checking the paths a person gives (platform/user-paths.ts) on the real file system: kernel file
 * systems refused by name and through links, impossible spellings refused before any system call,
 * dangling links, loops, FIFOs and sockets named as what they are, and folders made level by level,
 * also by the run files (weights, checkpoint) that live beside the database.
 */
import '@tensorflow/tfjs-layers';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PREPROCESSING } from '../../../main/data/preprocess';
import { selectBackend } from '../../../main/engine/backend/select';
import { createResNet } from '../../../main/engine/nets/resnet-model';
import { saveCheckpoint } from '../../../main/engine/train/checkpoint';
import { LocalTrainer } from '../../../main/engine/train/local-trainer';
import { SgdNesterov } from '../../../main/engine/train/sgd';
import { saveWeights } from '../../../main/engine/train/weights';
import { checkUserPath, makeFolders, UserPathError } from '../../../main/platform/user-paths';
import { useTempDir } from '../../helpers/temp';

const folder = { kind: 'folder', what: 'export folder', action: 'export into' } as const;

/** The refusal `fn` throws: always a UserPathError (a 400), never a system error. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserPathError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('checkUserPath', () => {
  const tmp = useTempDir();

  it.each([
    ['/proc/blockwise-export', /^\/proc\/blockwise-export is under \/proc, which holds the kernel's process information/],
    ['/proc', /^\/proc is under \/proc/],
    ['/sys/kernel/x', /^\/sys\/kernel\/x is under \/sys, which holds the kernel's device and driver settings/],
    ['/dev/shm/model', /^\/dev\/shm\/model is under \/dev, which holds device files/],
  ])('refuses %s, a kernel file system, by name', (input, message) => {
    expect(refusal(() => checkUserPath(input, folder))).toMatch(message);
  });

  it('refuses a path that reaches /proc through a link, naming where it leads', () => {
    const link = path.join(tmp(), 'runs');
    fs.symlinkSync('/proc/self', link);
    expect(refusal(() => checkUserPath(path.join(link, '7'), folder))).toMatch(new RegExp(`^${link}/7 is under /proc \\(through a link: it leads to /proc/\\d+\\)`));
  });

  it('refuses a NUL byte, an over-long name and an over-long path before any system call', () => {
    expect(refusal(() => checkUserPath(`${tmp()}/a\u0000b`, folder))).toMatch(/contains a NUL character, which no file name can hold: retype the path\.$/);
    expect(refusal(() => checkUserPath(`${tmp()}/${'n'.repeat(300)}`, folder))).toMatch(/has a name of 300 bytes .*; a name can have at most 255: shorten it\.$/);
    const deep = `${tmp()}/${Array.from({ length: 500 }, () => 'abcdefghi').join('/')}`;
    expect(refusal(() => checkUserPath(deep, folder))).toMatch(/^The export folder path is \d{4} bytes long .*; the system allows at most 4095: choose a shorter path\.$/);
    expect(refusal(() => checkUserPath('  ', folder))).toBe('The export folder path is empty: give a full path.');
  });

  it('names a dangling link, a link loop, a FIFO, a socket and a file where a folder is needed', async () => {
    const dir = tmp();
    fs.symlinkSync(path.join(dir, 'gone'), path.join(dir, 'dangling'));
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(dir, 'socket'), resolve));
    try {
      expect(refusal(() => checkUserPath(path.join(dir, 'dangling', 'model'), folder))).toBe(`${dir}/dangling is a symbolic link to ${dir}/gone, which does not exist: remove the link or point it at an existing folder.`);
      expect(refusal(() => checkUserPath(path.join(dir, 'a'), folder))).toMatch(new RegExp(`^${dir}/a is a symbolic link loop \\(following it leads back round to itself\\)`));
      expect(refusal(() => checkUserPath(path.join(dir, 'fifo'), folder))).toBe(`Cannot export into ${dir}/fifo: it is a named pipe (FIFO), not a folder. Give the path of a folder.`);
      expect(refusal(() => checkUserPath(path.join(dir, 'socket'), folder))).toMatch(/it is a socket, not a folder/);
      expect(refusal(() => checkUserPath(path.join(dir, 'fifo'), { kind: 'file', what: 'database file' }))).toMatch(/fifo as the database file: it is a named pipe \(FIFO\), not a file/);
      expect(refusal(() => checkUserPath(path.join(dir, 'file', 'model'), folder))).toBe(`${dir}/file is a file, not a folder, so ${dir}/file/model cannot be inside it: check the path of the export folder.`);
    } finally {
      server.close();
    }
  });

  it('accepts an ordinary path, existing or not, and says which', () => {
    expect(checkUserPath(tmp(), folder)).toEqual({ path: tmp(), exists: true });
    expect(checkUserPath(`${tmp()}/x/../new`, folder)).toEqual({ path: `${tmp()}/new`, exists: false });
  });
});

describe('makeFolders', () => {
  const tmp = useTempDir();

  it('makes each missing level and returns the first it made; nothing when the folder exists', () => {
    const target = path.join(tmp(), 'a', 'b', 'c');
    expect(makeFolders(target, 'export folder')).toBe(path.join(tmp(), 'a'));
    expect(fs.statSync(target).isDirectory()).toBe(true);
    expect(makeFolders(target, 'export folder')).toBeUndefined();
  });

  it('answers a folder that cannot be made with a plain message, making nothing', () => {
    const dir = tmp();
    const link = path.join(dir, 'runs');
    fs.symlinkSync('/proc/self', link);
    const started = Date.now();
    expect(refusal(() => makeFolders(path.join(link, '1'), 'run folder'))).toMatch(/is under \/proc \(through a link/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fs.readdirSync(dir)).toEqual(['runs']);
  });
});

describe('run files beside the database', () => {
  const tmp = useTempDir();
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  /** A run folder whose `runs` parent is a link into /proc: Node's recursive mkdir spins on it forever. */
  function runFolderInProc(): string {
    const link = path.join(tmp(), 'runs');
    fs.symlinkSync('/proc/self', link);
    return path.join(link, '1');
  }

  it('refuses to save weights into a run folder that leads into /proc', async () => {
    const model = createResNet(8, { height: 8, width: 8, channels: 1 }, 2, 1);
    try {
      await expect(saveWeights(model, runFolderInProc())).rejects.toThrow(/\/runs\/1 is under \/proc \(through a link/);
    } finally {
      model.dispose();
    }
  });

  it('refuses to save a checkpoint into a run folder that leads into /proc', async () => {
    const model = createResNet(8, { height: 8, width: 8, channels: 1 }, 2, 1);
    const trainer = new LocalTrainer({ model, method: 'e2e', cuts: [], normalization: PREPROCESSING.mnist.normalization, seed: 1 });
    const sgd = new SgdNesterov({ lr: 0.1 });
    try {
      const position = { epoch: 1, step: 1, best: 0, last: 0, peakBytes: 0 };
      await expect(saveCheckpoint(runFolderInProc(), { model, trainer, sgd }, position)).rejects.toThrow(/\/runs\/1 is under \/proc \(through a link/);
    } finally {
      sgd.dispose();
      trainer.dispose();
      model.dispose();
    }
  });
});
