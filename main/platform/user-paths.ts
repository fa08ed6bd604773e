/**
 * Paths a person typed (export folder, database file, data set folder) and the run folders beside
 * the database: checked one component at a time before anything is read or made, so every answer
 * comes in bounded time. Node's recursive mkdir retries forever where mkdir says ENOENT for a
 * folder whose parent exists (/proc does), so folders are made one level at a time here, each
 * after its parent was checked. Every refusal says what the path is and what to do instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../../shared/api/errors';

export type PathKind = 'folder' | 'file';

/** A user-given path that cannot be used: a bad request, never an internal error. */
export class UserPathError extends ApiError {
  constructor(message: string) {
    super('bad_request', message);
    this.name = 'UserPathError';
  }
}

/** Kernel file systems: their entries are made by the kernel, never by a user's mkdir or write. */
const PSEUDO_ROOTS: Record<string, string> = {
  '/proc': "the kernel's process information",
  '/sys': "the kernel's device and driver settings",
  '/dev': 'device files',
};

/** statfs magic numbers of the same kind of file system mounted elsewhere (linux/magic.h). */
const PSEUDO_FS_TYPES: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0x6165676c: 'pstore',
  0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl',
  0x42494e4d: 'binfmt_misc',
  0x19800202: 'mqueue',
};

/** PATH_MAX less the terminating NUL, and NAME_MAX, in bytes; Windows checks its own. */
const MAX_PATH_BYTES: Partial<Record<NodeJS.Platform, number>> = { linux: 4095, darwin: 1023 };
const MAX_NAME_BYTES = 255;

export interface CheckedPath {
  /** Absolute, normalised. */
  path: string;
  exists: boolean;
}

export interface PathUse {
  kind: PathKind;
  /** Names the path in messages: "export folder", "database file". */
  what: string;
  /** What is done with it, for "Cannot <action> <path>: ...": "export into"; default "use ... as the <what>". */
  action?: string;
}

/**
 * Check a user-given path before use: returns it absolute with whether it exists, or throws a
 * UserPathError naming the problem and what to do.
 */
export function checkUserPath(input: string, use: PathUse): CheckedPath {
  const { kind, what } = use;
  const absolute = checkSpelling(input, what);
  checkNotPseudoRoot(absolute, absolute, what);
  const walk = walkPath(absolute, what);
  // Again where links lead: a link may point into /proc.
  checkNotPseudoRoot(absolute, safeRealpath(walk.deepest), what);
  checkNotPseudoMount(absolute, walk.deepest, what);
  if (walk.missing.length) return { path: absolute, exists: false };
  const stat = walk.stat!;
  if (kind === 'folder' ? stat.isDirectory() : stat.isFile()) return { path: absolute, exists: true };
  const action = use.action ? `${use.action} ${absolute}` : `use ${absolute} as the ${what}`;
  throw new UserPathError(`Cannot ${action}: it is ${describeKind(stat)}, not a ${kind}. Give the path of a ${kind}.`);
}

/**
 * Make folder `dir` and any missing parents, one level at a time after checking each parent.
 * Returns the first folder it created (to remove on failure), or undefined when `dir` existed.
 */
export function makeFolders(dir: string, what: string): string | undefined {
  const checked = checkUserPath(dir, { kind: 'folder', what });
  if (checked.exists) return undefined;
  const { deepest, missing } = walkPath(checked.path, what);
  let first: string | undefined;
  let parent = deepest;
  for (const name of missing) {
    const next = path.join(parent, name);
    try {
      fs.mkdirSync(next);
      first ??= next;
    } catch (error) {
      // Made by someone else meanwhile: fine if it is a folder.
      if (code(error) !== 'EEXIST' || !isFolder(next)) throw describeFsError(error, next, `create the ${what}`) ?? error;
    }
    parent = next;
  }
  return first;
}

/**
 * A file-system error on a user-facing path as a plain bad request ("Cannot <action> <file>:
 * why. What to do."), or undefined when it is not one a person can fix.
 */
export function describeFsError(error: unknown, file: string, action: string): UserPathError | undefined {
  if (error instanceof UserPathError) return error;
  const where = path.dirname(file);
  const reasons: Record<string, string> = {
    EACCES: 'you have no permission for it or a folder above it: choose a folder you can write to, or change its permissions',
    EPERM: `the system does not allow it there (permissions, or an immutable or system file): choose another folder`,
    EROFS: `${where} is on a read-only file system: choose a folder on a writable disk`,
    ENOSPC: 'the disk is full: free some space or choose another disk',
    EDQUOT: 'your disk quota is used up: free some space or choose another disk',
    ENOENT: 'it or a folder above it does not exist, or this file system holds no new files there: check the path',
    ENOTDIR: `a part of the path is a file, not a folder: check the path`,
    EISDIR: `it is a folder: give a path that is free`,
    EEXIST: `${file} already exists as something that is not a folder: give a new path`,
    ELOOP: 'the path goes round a symbolic link loop: fix or remove the link',
    ENAMETOOLONG: 'the path or one of its names is too long: choose a shorter path',
    EIO: 'the disk reported an input/output error: check the disk, or choose another one',
    EBUSY: 'it is in use by the system: choose another path',
    EINVAL: 'this file system does not accept it: choose a folder on an ordinary disk',
  };
  const reason = reasons[code(error) ?? ''];
  return reason ? new UserPathError(`Cannot ${action} ${file}: ${reason}.`) : undefined;
}

/** Empty, NUL bytes and lengths: what no file system accepts, checked before any system call. */
function checkSpelling(input: string, what: string): string {
  if (input.trim() === '') throw new UserPathError(`The ${what} path is empty: give a full path.`);
  if (input.includes('\0')) throw new UserPathError(`The ${what} path ${JSON.stringify(shorten(input))} contains a NUL character, which no file name can hold: retype the path.`);
  const absolute = path.resolve(input);
  const limit = MAX_PATH_BYTES[process.platform];
  const bytes = Buffer.byteLength(absolute);
  if (limit !== undefined && bytes > limit) {
    throw new UserPathError(`The ${what} path is ${bytes} bytes long (${shorten(absolute)}); the system allows at most ${limit}: choose a shorter path.`);
  }
  const long = absolute.split(path.sep).find((name) => Buffer.byteLength(name) > MAX_NAME_BYTES);
  if (long !== undefined) {
    throw new UserPathError(`The ${what} path has a name of ${Buffer.byteLength(long)} bytes (${shorten(long)}); a name can have at most ${MAX_NAME_BYTES}: shorten it.`);
  }
  return absolute;
}

interface Walk {
  /** The deepest existing folder on the path (the path itself when it exists). */
  deepest: string;
  /** The names below `deepest` that do not exist yet. */
  missing: string[];
  /** The path's own stat (links followed) when it exists. */
  stat?: fs.Stats;
}

/** lstat each component from the root: links followed one at a time, so loops and dangling links are named. */
function walkPath(absolute: string, what: string): Walk {
  const { root } = path.parse(absolute);
  const names = absolute.slice(root.length).split(path.sep).filter(Boolean);
  let current = root;
  let stat: fs.Stats = fs.statSync(root);
  for (const [i, name] of names.entries()) {
    const next = path.join(current, name);
    let link: fs.Stats;
    try {
      link = fs.lstatSync(next);
    } catch (error) {
      if (code(error) === 'ENOENT') return { deepest: current, missing: names.slice(i) };
      throw reachError(error, next, what);
    }
    stat = link;
    if (link.isSymbolicLink()) {
      try {
        stat = fs.statSync(next);
      } catch (error) {
        if (code(error) === 'ENOENT') {
          throw new UserPathError(`${next} is a symbolic link to ${readLink(next)}, which does not exist: remove the link or point it at an existing folder.`);
        }
        throw reachError(error, next, what);
      }
    }
    if (i < names.length - 1 && !stat.isDirectory()) {
      throw new UserPathError(`${next} is ${describeKind(stat)}, not a folder, so ${absolute} cannot be inside it: check the path of the ${what}.`);
    }
    current = next;
  }
  return { deepest: current, missing: [], stat };
}

/** Refuse /proc, /sys and /dev by name, where `real` (the path, or where its links lead) lies under one. */
function checkNotPseudoRoot(absolute: string, real: string, what: string): void {
  if (process.platform === 'win32') return;
  const root = Object.keys(PSEUDO_ROOTS).find((r) => real === r || real.startsWith(`${r}/`));
  if (!root) return;
  const via = real === absolute ? '' : ` (through a link: it leads to ${real})`;
  throw new UserPathError(`${absolute} is under ${root}${via}, which holds ${PSEUDO_ROOTS[root]}, not files you can make: choose a folder on an ordinary disk for the ${what}, e.g. in your home folder.`);
}

/** Refuse the kinds of kernel file system mounted elsewhere (a second /proc, cgroups, debugfs...). */
function checkNotPseudoMount(absolute: string, existing: string, what: string): void {
  const type = safeStatfsType(existing);
  const name = type === undefined ? undefined : PSEUDO_FS_TYPES[type];
  if (name) throw new UserPathError(`${absolute} is on a ${name} file system, which the kernel fills in, not one that holds files: choose a folder on an ordinary disk for the ${what}.`);
}

function reachError(error: unknown, file: string, what: string): UserPathError | unknown {
  switch (code(error)) {
    case 'ELOOP':
      return new UserPathError(`${file} is a symbolic link loop (following it leads back round to itself): fix or remove the link, or give another path for the ${what}.`);
    case 'EACCES':
      return new UserPathError(`${file} cannot be reached: no permission to look inside ${path.dirname(file)}. Choose a folder you can open, or change its permissions.`);
    case 'ENAMETOOLONG':
      return new UserPathError(`${shorten(file)} is too long a path for this system: choose a shorter path for the ${what}.`);
    default:
      return describeFsError(error, file, `use the ${what}`) ?? error;
  }
}

function describeKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a folder';
  if (stat.isFile()) return 'a file';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isSocket()) return 'a socket';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  return 'not a file or folder';
}

function isFolder(file: string): boolean {
  try {
    return fs.statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function readLink(file: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return 'a missing target';
  }
}

function safeRealpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function safeStatfsType(file: string): number | undefined {
  try {
    return fs.statfsSync(file).type;
  } catch {
    return undefined;
  }
}

/** Long paths shown by their ends, so a message stays readable. */
function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 40)}…${text.slice(-30)}` : text;
}

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}
