/** The few dense float64 products the trainer's hand-derived passes need (row-major matrices). */

/** out (n × m) = x (n × k) · y (k × m), plus bias (m) when given. */
export function matmul(
  x: Float64Array,
  y: Float64Array,
  n: number,
  k: number,
  m: number,
  bias?: Float64Array,
): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const row = i * m;
    if (bias) for (let j = 0; j < m; j++) out[row + j] = bias[j];
    for (let t = 0; t < k; t++) {
      const a = x[i * k + t];
      if (a === 0) continue;
      const yr = t * m;
      for (let j = 0; j < m; j++) out[row + j] += a * y[yr + j];
    }
  }
  return out;
}

/** gy (k × m) += xᵀ (k × n) · g (n × m). */
export function addTransposedProduct(
  gy: Float64Array,
  x: Float64Array,
  g: Float64Array,
  n: number,
  k: number,
  m: number,
): void {
  for (let i = 0; i < n; i++)
    for (let t = 0; t < k; t++) {
      const a = x[i * k + t];
      if (a === 0) continue;
      const yr = t * m;
      for (let j = 0; j < m; j++) gy[yr + j] += a * g[i * m + j];
    }
}

/** g (n × m) · yᵀ where y is k × m: the gradient flowing back through x · y to x (n × k). */
export function backThrough(g: Float64Array, y: Float64Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += g[i * m + j] * y[t * m + j];
      out[i * k + t] = s;
    }
  return out;
}

/** Column sums of g (n × m) added to out (m): a bias's gradient. */
export function addColumnSums(out: Float64Array, g: Float64Array, n: number, m: number): void {
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j] += g[i * m + j];
}
