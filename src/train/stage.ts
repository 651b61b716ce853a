import { DLIB_FEATURE_SIZE, DLIB_STAGE_SIDE, DLIB_STAGE_SIZE, type DlibLastStage } from '../models/dlibResnet128.js';
import { addColumnSums, addTransposedProduct, backThrough, matmul } from './matrix.js';

/**
 * dlib's last residual block (`conv256_down_out`) as the trainer runs it, forward and backward by
 * hand in float64. On its 256 × 4 × 4 input the block is small enough to write out:
 * - conv1 (3×3, stride 2, valid) sees one window, the top-left 3×3, and yields one position;
 * - conv2 (3×3, same padding) on that 1×1 map reads only its centre tap;
 * - the conv branch is padded to 2×2 with zeros (bottom/right), the shortcut is the 2×2 average
 *   pool of the input, and the block's output is relu(branch + shortcut);
 * - the network then averages the 2×2 output into the 256 pooled features.
 * So only output position (0, 0) depends on the weights; the other three are constants per photo,
 * computed once when the stage inputs are read. conv2's off-centre taps never touch data and stay stock.
 */

const C = DLIB_FEATURE_SIZE;
const SIDE = DLIB_STAGE_SIDE;
/** Inputs of conv1's single window: 3 × 3 positions × 256 channels, ordered as the HWIO filter's rows. */
export const WINDOW = 9 * C;
/** Offset of conv2's centre tap (ky = kx = 1) in its HWIO filter. */
const CENTRE = 4 * C * C;

export interface StageParams {
  /** conv1 as a WINDOW × 256 matrix (exactly its HWIO filter's layout). */
  readonly w1: Float64Array;
  readonly b1: Float64Array;
  /** conv2's centre tap, 256 × 256 (in × out). */
  readonly w2: Float64Array;
  readonly b2: Float64Array;
}

/** Per-photo constants of a batch of stage inputs. */
export interface StageRows {
  readonly n: number;
  /** n × WINDOW: conv1's window. */
  readonly win: Float64Array;
  /** n × 256: the shortcut at output position (0, 0). */
  readonly shortcut: Float64Array;
  /** n × 256: the other three output positions' share of the pooled features (already / 4). */
  readonly rest: Float64Array;
}

/** Reads stage inputs (256 × 4 × 4, NCHW, as the network outputs `stage_input`). */
export function stageRows(inputs: readonly Float32Array[]): StageRows {
  const n = inputs.length;
  const win = new Float64Array(n * WINDOW);
  const shortcut = new Float64Array(n * C);
  const rest = new Float64Array(n * C);
  inputs.forEach((s, i) => {
    if (s.length !== DLIB_STAGE_SIZE) throw new Error(`a stage input holds ${DLIB_STAGE_SIZE} floats, got ${s.length}`);
    for (let c = 0; c < C; c++) {
      const at = (y: number, x: number) => s[c * SIDE * SIDE + y * SIDE + x];
      for (let ky = 0; ky < 3; ky++)
        for (let kx = 0; kx < 3; kx++) win[i * WINDOW + (ky * 3 + kx) * C + c] = at(ky, kx);
      const pool = (py: number, px: number) =>
        (at(2 * py, 2 * px) + at(2 * py, 2 * px + 1) + at(2 * py + 1, 2 * px) + at(2 * py + 1, 2 * px + 1)) / 4;
      shortcut[i * C + c] = pool(0, 0);
      rest[i * C + c] = (Math.max(0, pool(0, 1)) + Math.max(0, pool(1, 0)) + Math.max(0, pool(1, 1))) / 4;
    }
  });
  return { n, win, shortcut, rest };
}

export interface StageForward {
  readonly rows: StageRows;
  /** conv1's output after relu, n × 256. */
  readonly h1: Float64Array;
  /** branch + shortcut at (0, 0) before relu, n × 256. */
  readonly z: Float64Array;
  /** The pooled features the final layer reads, n × 256. */
  readonly features: Float64Array;
}

export function stageForward(p: StageParams, rows: StageRows): StageForward {
  const { n } = rows;
  const h1 = matmul(rows.win, p.w1, n, WINDOW, C, p.b1);
  for (let i = 0; i < h1.length; i++) if (h1[i] < 0) h1[i] = 0;
  const z = matmul(h1, p.w2, n, C, C, p.b2);
  const features = new Float64Array(n * C);
  for (let i = 0; i < z.length; i++) {
    z[i] += rows.shortcut[i];
    features[i] = Math.max(0, z[i]) / 4 + rows.rest[i];
  }
  return { rows, h1, z, features };
}

/** Gradients of the block's weights given dLoss/dFeatures (n × 256). */
export function stageBackward(p: StageParams, f: StageForward, gFeatures: Float64Array): StageParams {
  const { n } = f.rows;
  // Through the average of 4 positions and the output relu, at the one position the weights reach.
  const gz = new Float64Array(n * C);
  for (let i = 0; i < gz.length; i++) gz[i] = f.z[i] > 0 ? gFeatures[i] / 4 : 0;
  const g: StageParams = {
    w1: new Float64Array(p.w1.length),
    b1: new Float64Array(C),
    w2: new Float64Array(p.w2.length),
    b2: new Float64Array(C),
  };
  addTransposedProduct(g.w2, f.h1, gz, n, C, C);
  addColumnSums(g.b2, gz, n, C);
  const gh = backThrough(gz, p.w2, n, C, C);
  for (let i = 0; i < gh.length; i++) if (f.h1[i] <= 0) gh[i] = 0;
  addTransposedProduct(g.w1, f.rows.win, gh, n, WINDOW, C);
  addColumnSums(g.b1, gh, n, C);
  return g;
}

/** The stock block as trainable float64 parameters. */
export function stageParams(stock: DlibLastStage): StageParams {
  const w2 = new Float64Array(C * C);
  for (let i = 0; i < C * C; i++) w2[i] = stock.conv2.filter.data[CENTRE + i];
  return {
    w1: Float64Array.from(stock.conv1.filter.data),
    b1: Float64Array.from(stock.conv1.bias),
    w2,
    b2: Float64Array.from(stock.conv2.bias),
  };
}

/** The float32 block the export writes: trained conv1, conv2 with its centre tap trained. */
export function toLastStage(p: StageParams, stock: DlibLastStage): DlibLastStage {
  const filter2 = Float32Array.from(stock.conv2.filter.data);
  for (let i = 0; i < C * C; i++) filter2[CENTRE + i] = p.w2[i];
  return {
    conv1: {
      filter: { shape: stock.conv1.filter.shape, data: Float32Array.from(p.w1) },
      bias: Float32Array.from(p.b1),
    },
    conv2: { filter: { shape: stock.conv2.filter.shape, data: filter2 }, bias: Float32Array.from(p.b2) },
  };
}
