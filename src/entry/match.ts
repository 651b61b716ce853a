/** facekit/match: distances, per-person aggregation, threshold calibration, 1:1 verification, clustering. */
export { AGGREGATIONS, DEFAULT_K, DEFAULT_MEAN_OF } from '../match/aggregate.js';
export type { Aggregation } from '../match/aggregate.js';
export { answerConfidence, checkFar, falseAcceptRate, thresholdForFar } from '../match/calibrate.js';
export { DEFAULT_TOLERANCE, euclideanDistance, faceDistance } from '../match/distance.js';
export { DEFAULT_PAIR_THRESHOLD, verifyDescriptors } from '../match/verify.js';
export { groupPeople } from '../match/group.js';
export type { FaceRef, MatchPair } from '../match/group.js';
export { rankPeople } from '../match/rank.js';
export type { KnownFace, PersonDistance } from '../match/rank.js';
export type { Verification } from '../match/verify.js';
export { CLUSTER_THRESHOLD, clusterFaces } from '../cluster/cluster.js';
export type { ClusterOptions } from '../cluster/cluster.js';
export type { PairThreshold } from '../match/verify.js';
export { checkTolerance, describeKnownThreshold, knownThreshold, MAX_TOLERANCE } from '../match/identify.js';
export type { KnownThreshold } from '../match/identify.js';
export {
  DEFAULT_OPEN_SET_FAR,
  describeOpenSet,
  openSetTable,
  openSetThreshold,
  pairRateFor,
} from '../match/open-set.js';
export type { OpenSetTable, OpenSetThreshold } from '../match/open-set.js';
