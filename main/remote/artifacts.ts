/**
 * A run's files carried through Redis: each file in chunks of at most 1 MiB under a fresh
 * version, then a manifest (name, bytes, SHA-256, chunk count per file) that points at that
 * version, set last, so a reader never sees half a set. A reader checks every file's size and
 * hash before it writes anything, and writes each file to a temporary name then renames it.
 *
 * Why Redis and not an S3 store: the artifacts that travel here (checkpoints and weights of the
 * studio's networks, up to tens of MiB for ResNet-110) fit Redis comfortably, and the queue
 * already needs Redis, so a worker needs nothing else to be reachable; a version older than
 * the manifest's is deleted once the new manifest is in place, and every key expires after
 * ARTIFACT_TTL_S so a studio that never comes back leaves nothing behind.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

export const CHUNK_BYTES = 1 << 20;
export const ARTIFACT_TTL_S = 14 * 24 * 3600;

export interface FileEntry {
  name: string;
  bytes: number;
  sha256: string;
  chunks: number;
}

export interface FileSetManifest {
  version: string;
  files: FileEntry[];
}

const chunkKey = (key: string, version: string, name: string, index: number) => `${key}:v:${version}:${name}:${index}`;
const sha256 = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

/** Read files from a folder now (a snapshot), for putFiles; names must be plain file names. */
export function readFileSet(dir: string, names: readonly string[]): Map<string, Buffer> {
  return new Map(names.map((name) => [name, fs.readFileSync(path.join(dir, name))]));
}

/** Store a set of files under `key`; returns its manifest. */
export async function putFiles(redis: Redis, key: string, files: Map<string, Buffer>): Promise<FileSetManifest> {
  const version = `${Date.now().toString(36)}${crypto.randomBytes(4).toString('hex')}`;
  const entries: FileEntry[] = [];
  const write = redis.multi();
  for (const [name, data] of files) {
    checkName(name);
    const chunks = Math.max(1, Math.ceil(data.length / CHUNK_BYTES));
    for (let i = 0; i < chunks; i++) write.set(chunkKey(key, version, name, i), data.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES), 'EX', ARTIFACT_TTL_S);
    entries.push({ name, bytes: data.length, sha256: sha256(data), chunks });
  }
  await write.exec();
  const manifest: FileSetManifest = { version, files: entries };
  const previous = await redis.set(key, JSON.stringify(manifest), 'EX', ARTIFACT_TTL_S, 'GET');
  if (previous) await removeVersion(redis, key, JSON.parse(previous) as FileSetManifest);
  return manifest;
}

/** The set's manifest, or null when there is none. */
export async function fileManifest(redis: Redis, key: string): Promise<FileSetManifest | null> {
  const text = await redis.get(key);
  return text ? (JSON.parse(text) as FileSetManifest) : null;
}

/**
 * Fetch the set `manifest` names into `dir`, each file checked by size and SHA-256 before any is
 * written. Throws naming the file that does not match (nothing written then).
 */
export async function getFiles(redis: Redis, key: string, manifest: FileSetManifest, dir: string): Promise<void> {
  const files = new Map<string, Buffer>();
  for (const entry of manifest.files) {
    checkName(entry.name);
    const keys = Array.from({ length: entry.chunks }, (_, i) => chunkKey(key, manifest.version, entry.name, i));
    const parts = keys.length ? await redis.mgetBuffer(...keys) : [];
    if (parts.some((part) => part === null)) throw new Error(`${entry.name} of ${key} is gone from Redis (expired or replaced); its run cannot be fetched.`);
    const data = Buffer.concat(parts as Buffer[]);
    if (data.length !== entry.bytes) throw new Error(`${entry.name} of ${key} has ${data.length} bytes, its manifest says ${entry.bytes}: refused.`);
    if (sha256(data) !== entry.sha256) throw new Error(`${entry.name} of ${key} does not match its SHA-256: refused.`);
    files.set(entry.name, data);
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of files) {
    const target = path.join(dir, name);
    fs.writeFileSync(`${target}.part`, data);
    fs.renameSync(`${target}.part`, target);
  }
}

/** Delete a set: its manifest and its chunks. */
export async function removeFiles(redis: Redis, key: string): Promise<void> {
  const manifest = await fileManifest(redis, key);
  await redis.del(key);
  if (manifest) await removeVersion(redis, key, manifest);
}

async function removeVersion(redis: Redis, key: string, manifest: FileSetManifest): Promise<void> {
  const keys = manifest.files.flatMap((entry) => Array.from({ length: entry.chunks }, (_, i) => chunkKey(key, manifest.version, entry.name, i)));
  if (keys.length) await redis.del(...keys);
}

function checkName(name: string): void {
  // A manifest from Redis must not write outside the run's folder.
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name) || name.startsWith('.')) throw new Error(`Refused a file named "${name}" in a remote file set: only plain file names travel.`);
}
