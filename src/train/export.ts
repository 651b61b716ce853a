import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { checkTunedName, TUNED_FORMAT, type TunedSpecFile, tunedModelId, tunedPaths } from '../embed/tuned.js';
import { DLIB128 } from '../embed/spec.js';
import { defaultCacheDir } from '../models/cache.js';
import type { DlibLastStage, DlibTail } from '../models/dlibResnet128.js';
import { writeNewFile } from '../util/output-folder.js';
import { tunedModelBytes } from './network.js';

/**
 * Writes a trained tail as an embedder of its own: the stock graph with the new last layer (built
 * by facekit's ONNX writer, so inference stays on onnxruntime) and its spec, both under
 * `<modelsDir>/embedders/`. The spec goes last: an embedder is visible only once both files are.
 */

export interface ExportOptions {
  /** The models folder (the model cache by default). */
  readonly modelsDir?: string;
  /** Replace an embedder of this name (default: refuse with FILE_EXISTS). */
  readonly replace?: boolean;
  /** The trained last residual block ('last-stage'); absent: the stock one. */
  readonly lastStage?: DlibLastStage;
  /** The distance threshold picked on the validation people. */
  readonly threshold: number;
  readonly training: Readonly<Record<string, unknown>>;
}

/** The stock match/cluster ratio (0.47 / 0.6): clustering links stay that much stricter than matches. */
const CLUSTER_RATIO = DLIB128.thresholds.cluster / DLIB128.thresholds.match;

export async function exportTuned(
  name: string,
  tail: DlibTail,
  options: ExportOptions,
): Promise<{ onnx: string; spec: string; modelId: string }> {
  checkTunedName(name, 'out');
  const paths = tunedPaths(name, options.modelsDir ?? defaultCacheDir());
  await mkdir(dirname(paths.onnx), { recursive: true });
  const bytes = await tunedModelBytes(tail, options.lastStage);
  const spec: TunedSpecFile = {
    format: TUNED_FORMAT,
    name,
    modelId: tunedModelId(name),
    base: DLIB128.name,
    thresholds: {
      match: Number(options.threshold.toFixed(4)),
      cluster: Number((options.threshold * CLUSTER_RATIO).toFixed(4)),
    },
    onnxSha256: createHash('sha256').update(bytes).digest('hex'),
    createdAt: new Date().toISOString(),
    training: options.training,
  };
  await writeNewFile(paths.onnx, bytes, options.replace ?? false);
  await writeNewFile(
    paths.spec,
    new TextEncoder().encode(`${JSON.stringify(spec, null, 2)}\n`),
    options.replace ?? false,
  );
  return { ...paths, modelId: spec.modelId };
}
