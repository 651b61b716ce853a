import { euclideanDistance } from './distance.js';

/** A face by photo and 0-based index; printed 1-based as `sample1.jpg #2`. */
export interface FaceRef {
  readonly photo: number;
  readonly face: number;
}

export interface MatchPair {
  readonly a: FaceRef;
  readonly b: FaceRef;
  readonly distance: number;
}

/**
 * Every pair of faces from different photos closer than `tolerance`, closest first, and the
 * people they make: pairs are joined closest first, but never into a group that would hold two
 * faces of one photo (one person appears once per photo), which stops a chain of near misses
 * from merging two people. Groups are numbered by first appearance.
 */
export function groupPeople(
  photos: readonly (readonly { descriptor: Float32Array }[])[],
  tolerance: number,
): { pairs: MatchPair[]; people: FaceRef[][] } {
  const refs: FaceRef[] = photos.flatMap((faces, photo) => faces.map((_, face) => ({ photo, face })));
  const descriptor = (r: FaceRef): Float32Array => photos[r.photo][r.face].descriptor;
  const pairs: MatchPair[] = [];
  for (let i = 0; i < refs.length; i++) {
    for (let j = i + 1; j < refs.length; j++) {
      if (refs[i].photo === refs[j].photo) continue;
      const distance = euclideanDistance(descriptor(refs[i]), descriptor(refs[j]));
      if (distance < tolerance) pairs.push({ a: refs[i], b: refs[j], distance });
    }
  }
  pairs.sort((p, q) => p.distance - q.distance);

  const groupOf = new Map<string, FaceRef[]>();
  const key = (r: FaceRef): string => `${r.photo}:${r.face}`;
  for (const r of refs) groupOf.set(key(r), [r]);
  for (const { a, b } of pairs) {
    const ga = groupOf.get(key(a)) as FaceRef[];
    const gb = groupOf.get(key(b)) as FaceRef[];
    if (ga === gb || ga.some((x) => gb.some((y) => x.photo === y.photo))) continue;
    ga.push(...gb);
    for (const r of gb) groupOf.set(key(r), ga);
  }
  const people = [...new Set(groupOf.values())]
    .filter((g) => g.length > 1)
    .map((g) => [...g].sort((x, y) => x.photo - y.photo || x.face - y.face))
    .sort((x, y) => x[0].photo - y[0].photo || x[0].face - y[0].face);
  return { pairs, people };
}
