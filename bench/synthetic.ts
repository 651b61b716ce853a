/**
 * Descriptors "around" LFW's real ones, for galleries larger than LFW: synthetic identities whose
 * centres and per-photo spread follow the real data's second-order statistics. Person centres
 * are drawn from the between-person covariance of LFW's person means, faces around a centre from
 * the within-person covariance of LFW's photos, and photos per person from LFW's own counts. The
 * real spectrum (not white noise) is kept, which matters for ANN: an isotropic Gaussian in 128-d
 * is far harder for HNSW than real face descriptors.
 */
import { seededRandom } from '../src/align/jitter.js';
import { imagesByPerson, type LfwFaces } from './lfw-faces.js';

/** Lower-triangular L with L·Lᵀ = A (A symmetric positive definite; a small ridge keeps it so). */
function cholesky(a: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * n + j];
    }
  }
  return l;
}

/** Ridge added to the covariances' diagonal: far below the smallest real variance, only there for the factorisation. */
const RIDGE = 1e-7;

export interface SyntheticModel {
  readonly dims: number;
  readonly mean: Float64Array;
  /** Cholesky factors of the between-person and within-person covariances. */
  readonly between: Float64Array;
  readonly within: Float64Array;
  /** Photos per person in LFW, to draw from. */
  readonly counts: number[];
}

export function fitSynthetic(faces: LfwFaces): SyntheticModel {
  const d = faces.dims;
  const groups = imagesByPerson(faces);
  const multi = groups.filter((g) => g.length >= 2);
  const means = multi.map((g) => {
    const m = new Float64Array(d);
    for (const i of g) for (let k = 0; k < d; k++) m[k] += faces.descriptors[i * d + k] / g.length;
    return m;
  });
  const mean = new Float64Array(d);
  for (const m of means) for (let k = 0; k < d; k++) mean[k] += m[k] / means.length;
  const b = new Float64Array(d * d);
  for (const m of means)
    for (let i = 0; i < d; i++)
      for (let j = 0; j <= i; j++) b[i * d + j] += ((m[i] - mean[i]) * (m[j] - mean[j])) / means.length;
  const w = new Float64Array(d * d);
  let dof = 0;
  multi.forEach((g, p) => {
    dof += g.length - 1;
    for (const idx of g) {
      const x = faces.descriptors.subarray(idx * d, (idx + 1) * d);
      for (let i = 0; i < d; i++)
        for (let j = 0; j <= i; j++) w[i * d + j] += (x[i] - means[p][i]) * (x[j] - means[p][j]);
    }
  });
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      w[i * d + j] /= dof;
      w[j * d + i] = w[i * d + j];
      b[j * d + i] = b[i * d + j];
    }
    w[i * d + i] += RIDGE;
    b[i * d + i] += RIDGE;
  }
  return { dims: d, mean, between: cholesky(b, d), within: cholesky(w, d), counts: groups.map((g) => g.length) };
}

function gaussian(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

function draw(
  l: Float64Array,
  d: number,
  rnd: () => number,
  base: ArrayLike<number>,
  out: Float32Array,
  offset: number,
): void {
  const z = Float64Array.from({ length: d }, () => gaussian(rnd));
  for (let i = 0; i < d; i++) {
    let s = 0;
    for (let k = 0; k <= i; k++) s += l[i * d + k] * z[k];
    out[offset + i] = base[i] + s;
  }
}

export class SyntheticPeople {
  private readonly rnd: () => number;

  constructor(
    private readonly model: SyntheticModel,
    seed: number,
  ) {
    this.rnd = seededRandom(seed);
  }

  /** A new identity's centre. */
  centre(): Float64Array {
    const c = new Float32Array(this.model.dims);
    draw(this.model.between, this.model.dims, this.rnd, this.model.mean, c, 0);
    return Float64Array.from(c);
  }

  /** Photos of one identity: as many as a random LFW person has. */
  photoCount(): number {
    return this.model.counts[Math.floor(this.rnd() * this.model.counts.length)];
  }

  /** One photo of the identity with this centre, written at `offset` of `out`. */
  face(centre: Float64Array, out: Float32Array, offset = 0): void {
    draw(this.model.within, this.model.dims, this.rnd, centre, out, offset);
  }
}
