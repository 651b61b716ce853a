import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { FaceKitError } from '../errors.js';
import { MODELS, weightsFolder, type ModelId, type ModelSpec } from './registry.js';
import { readTfjsWeights } from './weights.js';

/** Where built .onnx files live: option, then FACEKIT_CACHE_DIR, then XDG cache, then ~/.cache. */
export function defaultCacheDir(): string {
  if (process.env.FACEKIT_CACHE_DIR) return process.env.FACEKIT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'facekit', 'models');
}

/** Sidecar JSON written next to each .onnx: what it was built from and its checksum. */
export interface ModelRecord {
  readonly id: ModelId;
  readonly builderVersion: number;
  readonly weightsSha256: string;
  readonly onnxSha256: string;
  readonly bytes: number;
  readonly builtAt: string;
}

export type ModelState = 'ready' | 'missing' | 'stale' | 'corrupt';

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function paths(cacheDir: string, spec: ModelSpec) {
  const base = join(cacheDir, `${spec.id}.v${spec.builderVersion}`);
  return { onnx: `${base}.onnx`, record: `${base}.json` };
}

async function weightsDigest(spec: ModelSpec): Promise<string> {
  const dir = weightsFolder(spec);
  const manifest = await readFile(join(dir, spec.manifest));
  const groups = JSON.parse(manifest.toString('utf8')) as { paths: string[] }[];
  const h = createHash('sha256').update(manifest);
  for (const g of groups) for (const p of g.paths) h.update(await readFile(join(dir, p)));
  return h.digest('hex');
}

async function readRecord(file: string): Promise<ModelRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ModelRecord;
  } catch {
    return undefined;
  }
}

/** Checks one cached model against its record: present, same builder, same bytes. */
export async function inspectModel(id: ModelId, cacheDir = defaultCacheDir()): Promise<{ state: ModelState; path: string; record?: ModelRecord; bytes?: Buffer }> {
  const spec = MODELS[id];
  const p = paths(cacheDir, spec);
  const record = await readRecord(p.record);
  if (!record) return { state: 'missing', path: p.onnx };
  let bytes: Buffer;
  try {
    bytes = await readFile(p.onnx);
  } catch {
    return { state: 'missing', path: p.onnx, record };
  }
  if (sha256(bytes) !== record.onnxSha256) return { state: 'corrupt', path: p.onnx, record };
  if (record.builderVersion !== spec.builderVersion) return { state: 'stale', path: p.onnx, record };
  return { state: 'ready', path: p.onnx, record, bytes };
}

/** Builds one model's ONNX graph from its npm weights and stores it atomically in the cache. */
export async function buildModel(id: ModelId, cacheDir = defaultCacheDir()): Promise<{ path: string; record: ModelRecord; bytes: Uint8Array }> {
  const spec = MODELS[id];
  const p = paths(cacheDir, spec);
  let bytes: Uint8Array;
  let weightsSha256: string;
  try {
    const weights = await readTfjsWeights(weightsFolder(spec), spec.manifest);
    bytes = spec.build(weights);
    weightsSha256 = await weightsDigest(spec);
  } catch (cause) {
    if (cause instanceof FaceKitError) throw cause;
    throw new FaceKitError('MODEL_BUILD_FAILED', `cannot build model ${id}: ${(cause as Error).message}`, { field: id, cause });
  }
  const record: ModelRecord = {
    id, builderVersion: spec.builderVersion, weightsSha256, onnxSha256: sha256(bytes), bytes: bytes.length, builtAt: new Date().toISOString(),
  };
  try {
    await mkdir(cacheDir, { recursive: true });
    // Write-then-rename: a crash mid-write never leaves a half file under the real name.
    // Worker threads share a pid: the thread id and a random part keep concurrent builders apart.
    const suffix = `${process.pid}.${threadId}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(`${p.onnx}.${suffix}`, bytes);
    await rename(`${p.onnx}.${suffix}`, p.onnx);
    await writeFile(`${p.record}.${suffix}`, JSON.stringify(record, null, 2));
    await rename(`${p.record}.${suffix}`, p.record);
  } catch (cause) {
    // An unwritable cache is not fatal: the model still runs from memory this time.
    process.emitWarning(`facekit: cannot write model cache in ${cacheDir}: ${(cause as Error).message}`);
  }
  return { path: p.onnx, record, bytes };
}

/** Returns the model's ONNX bytes, building (or rebuilding a stale or corrupt copy) when needed. */
export async function loadModelBytes(id: ModelId, cacheDir = defaultCacheDir()): Promise<Uint8Array> {
  const info = await inspectModel(id, cacheDir);
  if (info.state === 'ready' && info.bytes) return info.bytes;
  if (info.state === 'stale' || info.state === 'corrupt') await rm(info.path, { force: true });
  return (await buildModel(id, cacheDir)).bytes;
}
