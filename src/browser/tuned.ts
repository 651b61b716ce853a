import { TUNED_ID_PREFIX } from '../embed/spec.js';
import { FaceKitError, invalidArgument } from '../errors.js';
import { baseUrl, fetchOk, sha256Hex, type WebRuntimeOptions } from './runtime.js';

/**
 * An embedder tuned by `facekit train` in the browser: its spec (`<name>.json`, as
 * src/embed/tuned.ts writes it) and the `.onnx` beside it — the same two files Node loads from
 * `<models>/embedders/`, fetched from `facekit serve` (/models/embedders/) or any URL. The ONNX's
 * SHA-256 must be the spec's (a damaged or swapped file is refused, not run), and descriptors are
 * tagged with the spec's model id, so a gallery never mixes them with the stock encoder's.
 */

/** What `facekit train --out` accepts as a name (src/embed/tuned.ts). */
const TUNED_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/i;

export interface TunedEmbedderRef {
  /** URL of the spec file. */
  readonly specUrl: string;
  /** The model id its descriptors carry: `dlib128+<name>`. */
  readonly modelId: string;
}

/** A bare name means `facekit serve`'s /models/embedders/<name>.json; anything else is the spec's URL. */
export function tunedEmbedderRef(embedder: unknown, options: WebRuntimeOptions): TunedEmbedderRef {
  if (typeof embedder !== 'string' || embedder.trim() === '')
    throw invalidArgument(
      'embedder',
      `must be a tuned embedder's name or its spec's URL; got ${JSON.stringify(embedder)}`,
    );
  const specUrl = TUNED_NAME.test(embedder)
    ? `${baseUrl(options)}embedders/${embedder}.json`
    : new URL(embedder, globalThis.location?.href ?? 'http://localhost/').href;
  const name = /([^/?#]+)\.json(?:[?#].*)?$/.exec(specUrl)?.[1];
  if (!name || !TUNED_NAME.test(name))
    throw invalidArgument(
      'embedder',
      `${specUrl} is not a tuned embedder's spec (<name>.json, as facekit train writes)`,
    );
  return { specUrl, modelId: `${TUNED_ID_PREFIX}${name}` };
}

/** Fetches and checks the spec and its ONNX; returns the model bytes. */
export async function loadTunedEmbedder(ref: TunedEmbedderRef): Promise<Uint8Array> {
  const corrupt = (why: string) => new FaceKitError('MODEL_CORRUPT', `${ref.specUrl}: ${why}`, { field: 'embedder' });
  let spec: Record<string, unknown>;
  try {
    spec = (await (await fetchOk(ref.specUrl)).json()) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof FaceKitError) throw e;
    throw corrupt(`not JSON (${(e as Error).message})`);
  }
  if (spec?.format !== 1) throw corrupt(`format must be 1, got ${JSON.stringify(spec?.format)}`);
  if (spec.base !== 'dlib128') throw corrupt(`base must be "dlib128", got ${JSON.stringify(spec.base)}`);
  if (spec.modelId !== ref.modelId)
    throw corrupt(`modelId is ${JSON.stringify(spec.modelId)}, the file is named for "${ref.modelId}"`);
  if (typeof spec.onnxSha256 !== 'string') throw corrupt('onnxSha256 is missing');
  const onnxUrl = ref.specUrl.replace(/\.json([?#].*)?$/, '.onnx$1');
  const bytes = new Uint8Array(await (await fetchOk(onnxUrl)).arrayBuffer());
  if ((await sha256Hex(bytes)) !== spec.onnxSha256)
    throw new FaceKitError('MODEL_CORRUPT', `${onnxUrl} does not match the checksum in ${ref.specUrl}`, {
      field: 'embedder',
    });
  return bytes;
}
