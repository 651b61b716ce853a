import { invalidArgument } from '../errors.js';
import type { RuntimeOptions } from '../runtime/model-session.js';
import type { Descriptor } from '../types.js';
import { DlibEncoder } from './dlib128.js';
import { DLIB128, type EmbedderSpec } from './spec.js';
import { savedTunedNames, tunedEntry } from './tuned.js';

/** A face encoder bound to its onnxruntime session: chips in, one descriptor each out. */
export interface Embedder {
  readonly modelId: string;
  readonly chipSize: number;
  readonly descriptorSize: number;
  /** Most chips per inference; the kit feeds chips this many at a time. */
  readonly maxBatch: number;
  /** Chips are chipSize × chipSize RGB floats 0..255, NHWC, already aligned. */
  encode(chips: readonly Float32Array[]): Promise<Descriptor[]>;
  dispose(): Promise<void>;
}

/**
 * An embedder's data and how to open it. Adding one is its network (a builder in models/, or an
 * ONNX file) and one entry: in EMBEDDERS below, or at run time through registerEmbedder().
 */
export interface EmbedderEntry extends EmbedderSpec {
  readonly create: (runtime: RuntimeOptions) => Promise<Embedder>;
}

const EMBEDDERS = new Map<string, EmbedderEntry>([
  [DLIB128.name, { ...DLIB128, create: (runtime) => DlibEncoder.create(runtime) }],
]);

/** Names of every registered embedder, built-in first. */
export function embedderNames(): string[] {
  return [...EMBEDDERS.keys()];
}

/**
 * The entry of `name`: a registered embedder, else one `facekit train` saved in `modelsDir` (the
 * model cache by default), registered on first use; INVALID_ARGUMENT naming `field` and the
 * embedders there are when neither holds it.
 */
export function embedderEntry(name: unknown, field = 'embedder', modelsDir?: string): EmbedderEntry {
  const entry = typeof name === 'string' ? EMBEDDERS.get(name) : undefined;
  if (entry) return entry;
  const saved = typeof name === 'string' ? tunedEntry(name, modelsDir) : undefined;
  if (saved) {
    registerEmbedder(saved);
    return saved;
  }
  const known = [...new Set([...embedderNames(), ...savedTunedNames(modelsDir)])];
  throw invalidArgument(field, `unknown embedder "${String(name)}" (use ${known.map((n) => `'${n}'`).join(', ')})`);
}

/**
 * Adds an embedder (a tuned network loaded from an ONNX file, say) under a new name. Names and
 * model ids are never reused: galleries and calibrations are keyed by model id.
 */
export function registerEmbedder(entry: EmbedderEntry): void {
  if (typeof entry?.name !== 'string' || entry.name === '') throw invalidArgument('name', 'must be a non-empty string');
  if (EMBEDDERS.has(entry.name)) throw invalidArgument('name', `embedder "${entry.name}" is already registered`);
  for (const other of EMBEDDERS.values())
    if (other.modelId === entry.modelId)
      throw invalidArgument('modelId', `model id "${entry.modelId}" already belongs to embedder "${other.name}"`);
  for (const field of ['chipSize', 'dimensions'] as const)
    if (!(Number.isInteger(entry[field]) && entry[field] > 0))
      throw invalidArgument(field, `must be a positive integer, got ${entry[field]}`);
  for (const field of ['match', 'cluster'] as const)
    if (!(entry.thresholds?.[field] > 0)) throw invalidArgument(`thresholds.${field}`, 'must be a positive number');
  if (typeof entry.create !== 'function') throw invalidArgument('create', 'must be a function');
  EMBEDDERS.set(entry.name, entry);
}
