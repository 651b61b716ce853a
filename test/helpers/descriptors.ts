/**
 * Synthetic 128-d descriptors with the spread of dlib's: a person is a random centre (|c| ≈ 0.7,
 * so two people sit about 1.0 apart), a photo is the centre plus noise (two photos of one person
 * about 0.35 apart). Seeded, so a failing test reproduces.
 */
import { seededRandom } from '../../src/align/jitter.js';

export const DIMS = 128;
/** Per-dimension spread of person centres and of photos around them. */
const CENTRE_SD = 0.062;
const PHOTO_SD = 0.022;

export class Faces {
  private readonly rnd: () => number;

  constructor(seed = 1) {
    this.rnd = seededRandom(seed);
  }

  private gauss(): number {
    return Math.sqrt(-2 * Math.log(1 - this.rnd())) * Math.cos(2 * Math.PI * this.rnd());
  }

  person(dims = DIMS): Float32Array {
    return Float32Array.from({ length: dims }, () => this.gauss() * CENTRE_SD);
  }

  photo(centre: Float32Array, sd = PHOTO_SD): Float32Array {
    return Float32Array.from(centre, (x) => x + this.gauss() * sd);
  }

  /** `people` identities with `photos` photos each, as enrolment requests. */
  people(
    people: number,
    photos: number,
    prefix = 'p',
  ): { name: string; centre: Float32Array; faces: { descriptor: Float32Array }[] }[] {
    return Array.from({ length: people }, (_, i) => {
      const centre = this.person();
      return {
        name: `${prefix}${i}`,
        centre,
        faces: Array.from({ length: photos }, () => ({ descriptor: this.photo(centre) })),
      };
    });
  }
}

/** A fake SHA-256 (hex) for face records that stand for photos. */
export function fakeHash(n: number): string {
  return n.toString(16).padStart(64, '0');
}
