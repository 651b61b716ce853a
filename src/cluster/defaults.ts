/** Defaults of the clustering that the CLI's option parsing needs without loading the search code. */

/**
 * Faces closer than this are linked. Stricter than the 0.6 match tolerance because one wrong
 * link can join two people's clusters; dlib's face clustering example uses 0.5 too, and
 * bench/cluster.ts measured the best pairwise F1 on LFW near it.
 */
export const CLUSTER_THRESHOLD = 0.5;
