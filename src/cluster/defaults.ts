/** Defaults of the clustering that the CLI's option parsing needs without loading the search code. */

import { DLIB128 } from '../embed/spec.js';

/** Faces closer than this are linked: the dlib embedder's cluster threshold (see src/embed/spec.ts). */
export const CLUSTER_THRESHOLD = DLIB128.thresholds.cluster;
