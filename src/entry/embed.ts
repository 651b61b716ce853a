/** facekit/embed: the embedder registry (add a tuned embedder with registerEmbedder) and its plain data. */
export { embedderEntry, embedderNames, registerEmbedder } from '../embed/registry.js';
export type { Embedder, EmbedderEntry } from '../embed/registry.js';
export { DEFAULT_EMBEDDER, DLIB128, EMBEDDER_ID } from '../embed/spec.js';
export type { EmbedderSpec, EmbedderThresholds, Metric } from '../embed/spec.js';
export type { ChipTemplate } from '../align/templates.js';
