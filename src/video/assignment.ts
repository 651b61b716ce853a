/**
 * Minimum-cost assignment (the Hungarian method, O(n³) with row and column potentials) on a
 * rectangular cost matrix, and box IoU. Written for the tracker: a few dozen faces at most.
 */
import type { Box } from '../index.js';

/**
 * For each row the column assigned to it (or -1 when there are more rows than columns), such
 * that the sum of the chosen costs is least. Every cost must be finite.
 */
export function solveAssignment(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  if (rows === 0) return [];
  const cols = cost[0].length;
  if (cols === 0) return new Array<number>(rows).fill(-1);
  // The method needs rows <= columns: solve the transpose otherwise and turn the answer round.
  if (rows > cols) {
    const byColumn = solveAssignment(cost[0].map((_, j) => cost.map((row) => row[j])));
    const out = new Array<number>(rows).fill(-1);
    byColumn.forEach((row, col) => {
      if (row >= 0) out[row] = col;
    });
    return out;
  }
  // 1-based potentials u (rows), v (columns); match[j] = row matched to column j (0 = none).
  const u = new Array<number>(rows + 1).fill(0);
  const v = new Array<number>(cols + 1).fill(0);
  const match = new Array<number>(cols + 1).fill(0);
  const way = new Array<number>(cols + 1).fill(0);
  for (let i = 1; i <= rows; i++) {
    match[0] = i;
    let j0 = 0;
    const minv = new Array<number>(cols + 1).fill(Number.POSITIVE_INFINITY);
    const used = new Array<boolean>(cols + 1).fill(false);
    do {
      used[j0] = true;
      const i0 = match[j0];
      let delta = Number.POSITIVE_INFINITY;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const reduced = cost[i0 - 1][j - 1] - u[i0] - v[j];
        if (reduced < minv[j]) {
          minv[j] = reduced;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[match[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (match[j0] !== 0);
    // Walk the augmenting path back, flipping matches.
    do {
      const j1 = way[j0];
      match[j0] = match[j1];
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= cols; j++) if (match[j] > 0) out[match[j] - 1] = j - 1;
  return out;
}

export function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Pairs (row, column) from a least-cost assignment whose cost is at most `maxCost`: the solver
 * pairs everything it can, so pairs that are too far apart to be the same face are dropped here.
 */
export function assignWithin(cost: readonly (readonly number[])[], maxCost: number): [number, number][] {
  return solveAssignment(cost).flatMap((col, row): [number, number][] =>
    col >= 0 && cost[row][col] <= maxCost ? [[row, col]] : [],
  );
}
