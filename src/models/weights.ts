import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FaceKitError } from '../errors.js';
import type { WeightTensor } from './weight-tensor.js';

// The pure half (tensor type, lookup) lives in weight-tensor.ts so the builders stay browser-safe.
export { takeWeight, type WeightTensor } from './weight-tensor.js';

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const BYTES_PER_QUANT = { uint8: 1, uint16: 2, float16: 2 } as const;

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * Reads a tfjs "weights manifest" and its .bin shards the way tfjs does: tensors are laid out
 * back to back in manifest order; quantized ones are `q * scale + min`.
 */
export async function readTfjsWeights(dir: string, manifestFile: string): Promise<Map<string, WeightTensor>> {
  const manifestPath = join(dir, manifestFile);
  let groups: ManifestGroup[];
  try {
    groups = JSON.parse(await readFile(manifestPath, 'utf8')) as ManifestGroup[];
  } catch (cause) {
    throw new FaceKitError('MODEL_MISSING', 'cannot read the weights manifest', { file: manifestPath, cause });
  }
  const out = new Map<string, WeightTensor>();
  for (const group of groups) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    const buffer = Buffer.concat(shards);
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const q = w.quantization;
      const bytes = count * (q ? BYTES_PER_QUANT[q.dtype] : 4);
      if (offset + bytes > buffer.byteLength) {
        throw new FaceKitError('MODEL_CORRUPT', `weights end before tensor ${w.name}`, {
          file: join(dir, group.paths[0]),
        });
      }
      const data = w.dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
      for (let i = 0; i < count; i++) {
        if (!q)
          data[i] = w.dtype === 'int32' ? view.getInt32(offset + i * 4, true) : view.getFloat32(offset + i * 4, true);
        else if (q.dtype === 'float16') data[i] = halfToFloat(view.getUint16(offset + i * 2, true));
        else {
          const raw = q.dtype === 'uint8' ? view.getUint8(offset + i) : view.getUint16(offset + i * 2, true);
          data[i] = raw * (q.scale ?? 1) + (q.min ?? 0);
        }
      }
      out.set(w.name, { shape: w.shape, data });
      offset += bytes;
    }
  }
  return out;
}
