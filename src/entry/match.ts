/** facekit/match: distances, per-person aggregation, threshold calibration, 1:1 verification, clustering. */
export { AGGREGATIONS, DEFAULT_K, DEFAULT_MEAN_OF } from '../match/aggregate.js';
export type { Aggregation } from '../match/aggregate.js';
export { answerConfidence, falseAcceptRate, thresholdForFar } from '../match/calibrate.js';
export { DEFAULT_TOLERANCE, euclideanDistance } from '../match/distance.js';
export { verifyDescriptors } from '../match/verify.js';
export type { Verification } from '../match/verify.js';
export { CLUSTER_THRESHOLD, clusterFaces } from '../cluster/cluster.js';
export type { ClusterOptions } from '../cluster/cluster.js';
export type { PairThreshold } from '../match/verify.js';
