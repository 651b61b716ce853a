import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceKitError, invalidArgument } from '../errors.js';
import { defaultCacheDir } from '../models/cache.js';
import { DlibEncoder } from './dlib128.js';
import type { EmbedderEntry } from './registry.js';
import { DLIB128, TUNED_ID_PREFIX } from './spec.js';

/**
 * Embedders tuned by `facekit train` (src/train/): dlib's network with a retrained last layer,
 * saved as `<models folder>/embedders/<name>.onnx` plus `<name>.json` (its spec: model id
 * `dlib128+<name>`, thresholds picked on its validation people, how it was trained). A kit or
 * command naming `<name>` finds it there and registers it on first use.
 */

export const TUNED_FOLDER = 'embedders';
/** Version of the spec file's layout. */
export const TUNED_FORMAT = 1;
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

export interface TunedSpecFile {
  readonly format: typeof TUNED_FORMAT;
  readonly name: string;
  readonly modelId: string;
  /** The embedder whose network and chips it shares. */
  readonly base: typeof DLIB128.name;
  readonly thresholds: { readonly match: number; readonly cluster: number };
  /** SHA-256 of the .onnx file: a damaged or swapped file is refused, not run. */
  readonly onnxSha256: string;
  readonly createdAt: string;
  /** What and how it was trained (dataset, mining, part, epochs, validation scores). */
  readonly training: Readonly<Record<string, unknown>>;
}

export const tunedModelId = (name: string): string => `${TUNED_ID_PREFIX}${name}`;

/** A name `facekit train --out` accepts: letters, digits, `-` and `_`, not a built-in name. */
export function checkTunedName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw invalidArgument(field, `"${String(name)}" is not a model name (letters, digits, - and _, at most 63)`);
  if (name === DLIB128.name) throw invalidArgument(field, `"${name}" is the built-in embedder's name`);
  return name;
}

export function tunedPaths(name: string, modelsDir = defaultCacheDir()): { onnx: string; spec: string } {
  const dir = join(modelsDir, TUNED_FOLDER);
  return { onnx: join(dir, `${name}.onnx`), spec: join(dir, `${name}.json`) };
}

/** Names of the tuned embedders saved in `modelsDir`. */
export function savedTunedNames(modelsDir = defaultCacheDir()): string[] {
  const dir = join(modelsDir, TUNED_FOLDER);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && existsSync(join(dir, f.replace(/\.json$/, '.onnx'))))
    .map((f) => f.replace(/\.json$/, ''))
    .filter((n) => NAME.test(n))
    .sort();
}

function readSpec(file: string, name: string): TunedSpecFile {
  let spec: TunedSpecFile;
  try {
    spec = JSON.parse(readFileSync(file, 'utf8')) as TunedSpecFile;
  } catch (cause) {
    throw new FaceKitError('MODEL_CORRUPT', `${file}: not a tuned embedder spec (${(cause as Error).message})`, {
      file,
      cause,
    });
  }
  const bad = (field: string, why: string) =>
    new FaceKitError('MODEL_CORRUPT', `${file}: ${field} ${why}`, { file, field });
  if (spec?.format !== TUNED_FORMAT)
    throw bad('format', `must be ${TUNED_FORMAT}, got ${JSON.stringify(spec?.format)}`);
  if (spec.name !== name) throw bad('name', `is "${spec.name}", but the file is named for "${name}"`);
  if (spec.modelId !== tunedModelId(name)) throw bad('modelId', `must be "${tunedModelId(name)}"`);
  if (spec.base !== DLIB128.name) throw bad('base', `must be "${DLIB128.name}"`);
  for (const k of ['match', 'cluster'] as const)
    if (!(typeof spec.thresholds?.[k] === 'number' && spec.thresholds[k] > 0))
      throw bad(`thresholds.${k}`, 'must be a positive number');
  if (typeof spec.onnxSha256 !== 'string') throw bad('onnxSha256', 'is missing');
  return spec;
}

/** The registry entry of the tuned embedder `name` saved in `modelsDir`, or undefined when none is saved. */
export function tunedEntry(name: string, modelsDir = defaultCacheDir()): EmbedderEntry | undefined {
  if (!NAME.test(name) || name === DLIB128.name) return undefined;
  const paths = tunedPaths(name, modelsDir);
  if (!existsSync(paths.spec)) return undefined;
  const spec = readSpec(paths.spec, name);
  return {
    ...DLIB128,
    name,
    modelId: spec.modelId,
    thresholds: { match: spec.thresholds.match, cluster: spec.thresholds.cluster },
    create: async (runtime) => {
      const bytes = await readFile(paths.onnx).catch((cause: unknown) => {
        throw new FaceKitError(
          'MODEL_MISSING',
          `${paths.onnx}: cannot read the tuned model (${(cause as Error).message})`,
          {
            file: paths.onnx,
            cause,
          },
        );
      });
      if (createHash('sha256').update(bytes).digest('hex') !== spec.onnxSha256)
        throw new FaceKitError('MODEL_CORRUPT', `${paths.onnx}: does not match the checksum in ${paths.spec}`, {
          file: paths.onnx,
        });
      return DlibEncoder.fromBytes(spec.modelId, bytes, runtime);
    },
  };
}
