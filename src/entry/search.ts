/** facekit/search: exact and approximate (HNSW) nearest-neighbour search over descriptors. */
export { ANN_DEFAULTS, ANN_MIN_FACES, AnnIndex } from '../search/ann.js';
export type { AnnParams } from '../search/ann.js';
export { DescriptorMatrix, exactKnn } from '../search/exact.js';
export type { DescriptorBatch } from '../search/exact.js';
