/**
 * The one place the service reaches into the pipeline's shared helpers: which models a run needs
 * and building them once per machine, a photo's largest face, a face's quality, which embedder a
 * name stands for. Kept in one file
 * so a move in src/pipeline/ is a change here only.
 */
export { largestFace, requiredModels } from '../pipeline/batch.js';
export type { FaceData } from '../pipeline/batch.js';
export { faceQuality } from '../pipeline/enroll.js';
export { ensureModels } from '../models/ensure.js';
export { DEFAULT_DETECTOR } from '../detect/registry.js';
export { embedderEntry } from '../embed/registry.js';
export { DEFAULT_EMBEDDER } from '../embed/spec.js';
