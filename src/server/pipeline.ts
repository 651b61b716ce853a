/**
 * The one place the service reaches into the command line's pipeline helpers (which models a run
 * needs, building them once per machine). They are moving to src/pipeline/; when they do, only
 * these import paths change.
 */
export { largestFace, requiredModels } from '../cli/pool.js';
export type { FaceData } from '../cli/pool.js';
export { ensureModels } from '../cli/models.js';
export { faceQuality } from '../cli/enroll.js';
