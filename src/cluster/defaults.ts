/** Defaults of the clustering that the CLI's option parsing needs without loading the search code. */

/**
 * Faces closer than this are linked. Stricter than the 0.6 match tolerance because links chain:
 * one wrong link can join two people's clusters. Chosen on LFW people with 2-4 photos (best
 * pairwise F1 of the weighted graph, bench/cluster.ts --min-photos 2 --max-photos 4); the
 * benchmark reports people with >= 5 photos, a disjoint set.
 */
export const CLUSTER_THRESHOLD = 0.47;
