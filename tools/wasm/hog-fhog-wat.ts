/**
 * Writes src/detect/hog/fhog.wat (dlib's FHOG gradient votes: the vector path 8 pixels a block in SIMD, the
 * scalar tail per pixel; WebAssembly's float arithmetic is IEEE single precision, dlib's own) and assembles it into src/detect/hog/fhog-wasm.ts:
 *   npm install --prefix /tmp/wabt-tool wabt@1 && npx tsx tools/wasm/hog-fhog-wat.ts /tmp/wabt-tool/node_modules/wabt
 */
import { assemble } from './assemble.js';

/** First free byte: after the 511² u8 orientation table at 0, 16-aligned. */
export const SCRATCH_AT = Math.ceil((511 * 511) / 16) * 16;
const HIST_CELL_BYTES = 18 * 4;

/**
 * The vote of one pixel at byte $p as dlib's scalar path (the row's tail) computes it: ties go to the
 * earlier channel, the weight products rounded as (vy·w)·v. The vector path is vectorBlocks below.
 */
function pixel(): string {
  const cmp = 'i32.gt_s';
  const ch = (k: number) => `
        (local.set $cx (i32.sub (i32.load8_u offset=${6 + k} (local.get $pl)) (i32.load8_u offset=${k} (local.get $pl))))
        (local.set $cy (i32.sub (i32.load8_u offset=${k} (local.get $pd)) (i32.load8_u offset=${k} (local.get $pu))))
        (local.set $cl (i32.add (i32.mul (local.get $cx) (local.get $cx)) (i32.mul (local.get $cy) (local.get $cy))))`;
  const take = (first: boolean) =>
    first
      ? `
        (local.set $dx (local.get $cx)) (local.set $dy (local.get $cy)) (local.set $len (local.get $cl))`
      : `
        (local.set $take (${cmp} (local.get $cl) (local.get $len)))
        (local.set $dx (select (local.get $cx) (local.get $dx) (local.get $take)))
        (local.set $dy (select (local.get $cy) (local.get $dy) (local.get $take)))
        (local.set $len (select (local.get $cl) (local.get $len) (local.get $take)))`;
  const add = (row: string, extra: number, value: string) => `
        (local.set $addr (i32.add (local.get ${row}) (local.get $cell)))
        (f32.store offset=${extra} (local.get $addr) (f32.add (f32.load offset=${extra} (local.get $addr)) ${value}))`;
  const votes = `
        (local.set $a1 (f32.load (i32.add (local.get $w1) (local.get $xo))))
        (local.set $a0 (f32.load (i32.add (local.get $w0) (local.get $xo))))
        ${add('$up', 0, '(f32.mul (f32.mul (local.get $vy1) (local.get $a1)) (local.get $v))')}
        ${add('$lo', 0, '(f32.mul (f32.mul (local.get $vy0) (local.get $a1)) (local.get $v))')}
        ${add('$up', HIST_CELL_BYTES, '(f32.mul (f32.mul (local.get $vy1) (local.get $a0)) (local.get $v))')}
        ${add('$lo', HIST_CELL_BYTES, '(f32.mul (f32.mul (local.get $vy0) (local.get $a0)) (local.get $v))')}`;
  return `
        (local.set $xo (i32.shl (local.get $x) (i32.const 2)))
        (local.set $pl (i32.sub (i32.add (local.get $row) (i32.mul (local.get $x) (i32.const 3))) (i32.const 3)))
        (local.set $pu (i32.sub (i32.add (local.get $pl) (i32.const 3)) (local.get $stride)))
        (local.set $pd (i32.add (i32.add (local.get $pl) (i32.const 3)) (local.get $stride)))
        ${ch(0)}${take(true)}${ch(1)}${take(false)}${ch(2)}${take(false)}
        (local.set $g (i32.add (i32.mul (i32.add (local.get $dy) (i32.const 255)) (i32.const 511)) (i32.add (local.get $dx) (i32.const 255))))
        ;; The length as dlib takes it: float sqrt of the exact integer energy (no table: 1 MB of it
        ;; cost more in cache misses than the sqrt).
        (local.set $v (f32.sqrt (f32.convert_i32_s (local.get $len))))
        (local.set $cell (i32.add (i32.load (i32.add (local.get $cols) (local.get $xo)))
          (i32.shl (i32.load8_u (local.get $g)) (i32.const 2))))${votes}`;
}

function xLoop(name: string, from: string, to: string): string {
  return `
      (local.set $x ${from})
      (block $${name}Done
        (loop $${name}
          (br_if $${name}Done (i32.ge_s (local.get $x) ${to}))${pixel()}
          (local.set $x (i32.add (local.get $x) (i32.const 1)))
          (br $${name})))`;
}

/** i8x16.shuffle indices taking byte `first + 3i` (i = 0..7) of a 32-byte pair into the low 8 lanes. */
function strided(first: number): string {
  return [...Array.from({ length: 8 }, (_, i) => first + 3 * i), ...Array<number>(8).fill(0)].join(' ');
}

/** Bytes `first + 3i` of the 32 bytes (lo, hi) as 8 unsigned 16-bit lanes. */
const bytes16 = (lo: string, hi: string, first: number) =>
  `(i16x8.extend_low_i8x16_u (i8x16.shuffle ${strided(first)} (local.get ${lo}) (local.get ${hi})))`;

const VECTOR_LOCALS = [
  '$sA $sB $sU1 $sU2 $sD1 $sD2 $dx16 $dy16',
  '$cpL $cpH $clenL $clenH $bpL $bpH $blenL $blenH',
  '$mask $gv $vv $a1v $a0v',
]
  .flatMap((group) => group.split(' '))
  .map((name) => `(local ${name} v128)`)
  .join(' ');

/**
 * dlib's vector path, 8 pixels a block: the three channels' gradients, the strongest (a later
 * channel wins ties), the table index and the float length in SIMD lanes, then each pixel's four
 * votes in x order, as the per-pixel loop adds them (the histogram sums are the same bits).
 * Reads 32 bytes from pixel x−1 of the row and of the rows above and below (slack after the image).
 */
function channel(k: number): string {
  const take =
    k === 0
      ? ['L', 'H']
          .map(
            (h) => `
        (local.set $bp${h} (local.get $cp${h})) (local.set $blen${h} (local.get $clen${h}))`,
          )
          .join('')
      : ['L', 'H']
          .map(
            (h) => `
        (local.set $mask (i32x4.ge_s (local.get $clen${h}) (local.get $blen${h})))
        (local.set $bp${h} (v128.bitselect (local.get $cp${h}) (local.get $bp${h}) (local.get $mask)))
        (local.set $blen${h} (v128.bitselect (local.get $clen${h}) (local.get $blen${h}) (local.get $mask)))`,
          )
          .join('');
  // Each pixel's (dx, dy) as a pair of i16 in one i32 lane, so i32x4.dot_i16x8_s gives dx² + dy² (and
  // later dx + 511·dy) in one instruction; the pair is selected whole. Exact integers, as before.
  return `
        (local.set $dx16 (i16x8.sub ${bytes16('$sA', '$sB', 6 + k)} ${bytes16('$sA', '$sB', k)}))
        (local.set $dy16 (i16x8.sub ${bytes16('$sD1', '$sD2', 3 + k)} ${bytes16('$sU1', '$sU2', 3 + k)}))
        (local.set $cpL (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $dx16) (local.get $dy16)))
        (local.set $cpH (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $dx16) (local.get $dy16)))
        (local.set $clenL (i32x4.dot_i16x8_s (local.get $cpL) (local.get $cpL)))
        (local.set $clenH (i32x4.dot_i16x8_s (local.get $cpH) (local.get $cpH)))${take}`;
}

/** The four votes of lane j of half h (pixel x + 4h + j), in the per-pixel loop's order. */
function laneVotes(h: number, j: number): string {
  const at = (4 * h + j) * 4;
  const add = (row: string, extra: number, value: string) => `
        (local.set $addr (i32.add (local.get ${row}) (local.get $cell)))
        (f32.store offset=${extra} (local.get $addr) (f32.add (f32.load offset=${extra} (local.get $addr)) ${value}))`;
  return `
        (local.set $cell (i32.add (i32.load offset=${at} (i32.add (local.get $cols) (local.get $xo)))
          (i32.shl (i32.load8_u (i32x4.extract_lane ${j} (local.get $gv))) (i32.const 2))))
        (local.set $a1 (f32x4.extract_lane ${j} (local.get $a1v)))
        (local.set $a0 (f32x4.extract_lane ${j} (local.get $a0v)))${add('$up', 0, '(f32.mul (local.get $vy1) (local.get $a1))')}${add('$lo', 0, '(f32.mul (local.get $vy0) (local.get $a1))')}${add('$up', HIST_CELL_BYTES, '(f32.mul (local.get $vy1) (local.get $a0))')}${add('$lo', HIST_CELL_BYTES, '(f32.mul (local.get $vy0) (local.get $a0))')}`;
}

function half(h: number): string {
  const s = h === 0 ? 'L' : 'H';
  return `
        (local.set $gv (i32x4.add (i32x4.dot_i16x8_s (local.get $bp${s}) (v128.const i16x8 1 511 1 511 1 511 1 511))
          (i32x4.splat (i32.const ${255 * 511 + 255}))))
        ;; The length as dlib takes it: float sqrt of the exact integer energy.
        (local.set $vv (f32x4.sqrt (f32x4.convert_i32x4_s (local.get $blen${s}))))
        (local.set $a1v (f32x4.mul (v128.load offset=${16 * h} (i32.add (local.get $w1) (local.get $xo))) (local.get $vv)))
        (local.set $a0v (f32x4.mul (v128.load offset=${16 * h} (i32.add (local.get $w0) (local.get $xo))) (local.get $vv)))${[0, 1, 2, 3].map((j) => laneVotes(h, j)).join('')}`;
}

const vectorBlocks = `
      (local.set $x (i32.const 1))
      (block $vectorDone
        (loop $vector
          (br_if $vectorDone (i32.ge_s (local.get $x) (local.get $simdEnd)))
        (local.set $xo (i32.shl (local.get $x) (i32.const 2)))
        (local.set $pl (i32.sub (i32.add (local.get $row) (i32.mul (local.get $x) (i32.const 3))) (i32.const 3)))
        (local.set $pu (i32.sub (local.get $pl) (local.get $stride)))
        (local.set $pd (i32.add (local.get $pl) (local.get $stride)))
        (local.set $sA (v128.load (local.get $pl)))
        (local.set $sB (v128.load offset=16 (local.get $pl)))
        (local.set $sU1 (v128.load (local.get $pu)))
        (local.set $sU2 (v128.load offset=16 (local.get $pu)))
        (local.set $sD1 (v128.load (local.get $pd)))
        (local.set $sD2 (v128.load offset=16 (local.get $pd)))${channel(0)}${channel(1)}${channel(2)}${half(0)}${half(1)}
          (local.set $x (i32.add (local.get $x) (i32.const 8)))
          (br $vector)))`;

/** A float32 constant as WAT text: the shortest decimal of Math.fround(x) parses back to that float. */
const f32 = (x: number) => `(f32.const ${Math.fround(x)})`;
const splat = (x: number) => `(f32x4.splat ${f32(x)})`;

/** i8x16.shuffle bytes picking float lanes (0–3 from the first operand, 4–7 from the second). */
function lanes(...picks: number[]): string {
  return picks.flatMap((l) => [0, 1, 2, 3].map((b) => l * 4 + b)).join(' ');
}

/** dlib's SSE2 sum of a vector's four lanes: (l0 + l2) + (l1 + l3). Inline: Node 20's V8 does not inline a wasm call, 31 a cell. */
const laneSum = (v: string) => `(block (result f32)
            (local.set $lanes ${v})
            (local.set $lanes (f32x4.add (local.get $lanes) (i8x16.shuffle ${lanes(2, 3, 2, 3)} (local.get $lanes) (local.get $lanes))))
            (f32.add (f32x4.extract_lane 0 (local.get $lanes)) (f32x4.extract_lane 1 (local.get $lanes))))`;

/** The clipped, normalised value of orientation vote `h` (a scalar) in each of the 4 blocks' lanes. */
const normed = (h: string) => `(f32x4.mul (f32x4.min (f32x4.splat ${h}) (local.get $nn)) (local.get $n))`;

/** Store `value` in the current plane at the current cell, then step to the next plane. */
const storeNext = (value: string) => `
          (f32.store (local.get $q) ${value})
          (local.set $q (i32.add (local.get $q) (local.get $planeBytes)))`;

const contrastSensitive = Array.from({ length: 6 }, (_, g) => {
  const [a, b, c] = [3 * g, 3 * g + 1, 3 * g + 2].map((o) => `(f32.load offset=${o * 4} (local.get $h))`);
  return `
          (local.set $va ${normed(a as string)})
          (local.set $vb ${normed(b as string)})
          (local.set $vc ${normed(c as string)})${storeNext(laneSum('(local.get $va)'))}${storeNext(laneSum('(local.get $vb)'))}${storeNext(laneSum('(local.get $vc)'))}
          (local.set $t (f32x4.add (local.get $t) (f32x4.add (f32x4.add (local.get $va) (local.get $vb)) (local.get $vc))))`;
}).join('');

const contrastInsensitive = Array.from({ length: 9 }, (_, o) =>
  storeNext(
    laneSum(
      normed(`(f32.add (f32.load offset=${o * 4} (local.get $h)) (f32.load offset=${(o + 9) * 4} (local.get $h)))`),
    ),
  ),
).join('');

const texture = [0, 1, 2, 3].map((k) => storeNext(`(f32x4.extract_lane ${k} (local.get $t))`)).join('');

/**
 * extract_fhog_features' second half: cell energies, then per cell the 31 features from the 4
 * blocks holding it. dlib computes the 4 blocks as the 4 lanes of one SSE vector; f32x4 lanes do
 * the same IEEE operations, and lane sums are added in SSE2's order, so the planes are dlib's.
 */
const normalize = `
  ;;  hist: 18 f32 per cell, (cellsR+2)×histC cells; norm: cellsR×cellsC f32 (+16 bytes slack);
  ;;  planes: 31 planes of planeBytes, zeroed by the caller; the features of cell (y, x) go to
  ;;  byte (y+offR)·cols·4 + (x+offC)·4 of each plane, for y < hogR, x < hogC.
  (func (export "normalize") (param $hist i32) (param $histC i32) (param $cellsR i32) (param $cellsC i32)
        (param $norm i32) (param $planes i32) (param $planeBytes i32) (param $cols i32)
        (param $hogR i32) (param $hogC i32) (param $offR i32) (param $offC i32)
    (local $r i32) (local $c i32) (local $h i32) (local $e i32) (local $e1 i32) (local $e2 i32) (local $at i32) (local $q i32)
    (local $sum f32) (local $s f32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $nn v128) (local $n v128)
    (local $va v128) (local $vb v128) (local $vc v128) (local $t v128) (local $lanes v128)
    ;; Energy per cell: Σ over the 9 undirected orientations of (h[o] + h[o+9])², in order.
    (block $energyDone
      (loop $energyRows
        (br_if $energyDone (i32.ge_s (local.get $r) (local.get $cellsR)))
        (local.set $h (i32.add (local.get $hist)
          (i32.mul (i32.add (i32.mul (i32.add (local.get $r) (i32.const 1)) (local.get $histC)) (i32.const 1)) (i32.const ${HIST_CELL_BYTES}))))
        (local.set $e (i32.add (local.get $norm) (i32.shl (i32.mul (local.get $r) (local.get $cellsC)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $energyColsDone
          (loop $energyCols
            (br_if $energyColsDone (i32.ge_s (local.get $c) (local.get $cellsC)))
            (local.set $sum (f32.const 0))${Array.from(
              { length: 9 },
              (_, o) => `
            (local.set $s (f32.add (f32.load offset=${o * 4} (local.get $h)) (f32.load offset=${(o + 9) * 4} (local.get $h))))
            (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $s) (local.get $s))))`,
            ).join('')}
            (f32.store (local.get $e) (local.get $sum))
            (local.set $h (i32.add (local.get $h) (i32.const ${HIST_CELL_BYTES})))
            (local.set $e (i32.add (local.get $e) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $energyCols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $energyRows)))
    (local.set $r (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $r) (local.get $hogR)))
        (local.set $e (i32.add (local.get $norm) (i32.shl (i32.mul (local.get $r) (local.get $cellsC)) (i32.const 2))))
        (local.set $e1 (i32.add (local.get $e) (i32.shl (local.get $cellsC) (i32.const 2))))
        (local.set $e2 (i32.add (local.get $e1) (i32.shl (local.get $cellsC) (i32.const 2))))
        (local.set $h (i32.add (local.get $hist)
          (i32.mul (i32.add (i32.mul (i32.add (local.get $r) (i32.const 2)) (local.get $histC)) (i32.const 2)) (i32.const ${HIST_CELL_BYTES}))))
        (local.set $at (i32.add (local.get $planes)
          (i32.shl (i32.add (i32.mul (i32.add (local.get $r) (local.get $offR)) (local.get $cols)) (local.get $offC)) (i32.const 2))))
        (local.set $c (i32.const 0))
        (block $colsDone
          (loop $cells
            (br_if $colsDone (i32.ge_s (local.get $c) (local.get $hogC)))
          ;; Rows of the 3×3 cell energies around the cell (4 loaded, 3 used), then the 4 blocks'
          ;; lanes as dlib orders them (below-right, above-right, below-left, above-left):
          ;; nn = 0.2·√(((a + b) + c) + d + eps), n = 0.1 / nn.
          (local.set $r0 (v128.load align=4 (local.get $e)))
          (local.set $r1 (v128.load align=4 (local.get $e1)))
          (local.set $r2 (v128.load align=4 (local.get $e2)))
          (local.set $nn
            (f32x4.mul ${splat(0.2)} (f32x4.sqrt (f32x4.add (f32x4.add (f32x4.add (f32x4.add
              (i8x16.shuffle ${lanes(1, 5, 0, 4)} (local.get $r1) (local.get $r0))
              (i8x16.shuffle ${lanes(2, 6, 1, 5)} (local.get $r1) (local.get $r0)))
              (i8x16.shuffle ${lanes(1, 5, 0, 4)} (local.get $r2) (local.get $r1)))
              (i8x16.shuffle ${lanes(2, 6, 1, 5)} (local.get $r2) (local.get $r1)))
              ${splat(0.0001)}))))
          (local.set $n (f32x4.div ${splat(0.1)} (local.get $nn)))
          (local.set $q (local.get $at))
          (local.set $t (v128.const i32x4 0 0 0 0))
          ;; 18 contrast-sensitive features; texture sums per lane over groups of 3 of them.${contrastSensitive}
          ;; 9 contrast-insensitive features: opposite orientations together.${contrastInsensitive}
          ;; 4 texture features, one per block.
          (local.set $t (f32x4.mul (local.get $t) ${splat(2 * 0.2357)}))${texture}
            (local.set $e (i32.add (local.get $e) (i32.const 4)))
            (local.set $e1 (i32.add (local.get $e1) (i32.const 4)))
            (local.set $e2 (i32.add (local.get $e2) (i32.const 4)))
            (local.set $h (i32.add (local.get $h) (i32.const ${HIST_CELL_BYTES})))
            (local.set $at (i32.add (local.get $at) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $cells)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))`;

const wat = `;; Generated by tools/wasm/hog-fhog-wat.ts: dlib's FHOG gradient votes (extract_fhog_features'
;; first loop) in IEEE single precision, as dlib computes them. Pointers are byte offsets into the
;; shared memory: the orientation table (u8) at 0, free memory from ${SCRATCH_AT}.
(module
  ;; The memory the HOG kernels share (src/detect/hog/kernels.ts), so levels, features and
  ;; filter responses stay in place between them.
  (import "hog" "memory" (memory 1))
  ;; For y in [1, yEnd): x in [1, simdEnd) as dlib's vector path, then [simdEnd, xEnd) as its scalar
  ;; path. img: RGB bytes, stride bytes a row; cols: per x, the histogram cell's byte offset in a
  ;; row; w0/w1: per x, f32 weights; up/lo/vy0/vy1: per y, the two histogram rows' byte addresses
  ;; and their f32 weights.
  (func (export "votes") (param $img i32) (param $stride i32) (param $yEnd i32) (param $simdEnd i32) (param $xEnd i32)
        (param $cols i32) (param $w0 i32) (param $w1 i32) (param $ups i32) (param $los i32) (param $vy0s i32) (param $vy1s i32)
    (local $y i32) (local $x i32) (local $row i32) (local $xo i32) (local $pl i32) (local $pu i32) (local $pd i32)
    (local $cx i32) (local $cy i32) (local $cl i32) (local $dx i32) (local $dy i32) (local $len i32) (local $take i32)
    (local $g i32) (local $cell i32) (local $addr i32) (local $up i32) (local $lo i32)
    (local $v f32) (local $a0 f32) (local $a1 f32) (local $vy0 f32) (local $vy1 f32)
    ${VECTOR_LOCALS}
    (local.set $y (i32.const 1))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $yEnd)))
        (local.set $row (i32.add (local.get $img) (i32.mul (local.get $y) (local.get $stride))))
        (local.set $up (i32.load (i32.add (local.get $ups) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $lo (i32.load (i32.add (local.get $los) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $vy0 (f32.load (i32.add (local.get $vy0s) (i32.shl (local.get $y) (i32.const 2)))))
        (local.set $vy1 (f32.load (i32.add (local.get $vy1s) (i32.shl (local.get $y) (i32.const 2)))))
${vectorBlocks}
${xLoop('scalar', '(local.get $simdEnd)', '(local.get $xEnd)')}
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows))))
${normalize}
)
`;

await assemble(
  'fhog',
  'HOG_FHOG_WASM_BASE64',
  wat,
  { simd: true },
  `export const HOG_FHOG_SCRATCH_AT = ${SCRATCH_AT};\n`,
);
