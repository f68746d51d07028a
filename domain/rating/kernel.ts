import { erfTabulated } from './erf-table';

/**
 * The pair loop, the only O(N²) part of a rated event. It is separate so the benchmark can time it alone.
 *
 * Layout: positions [0, rated) hold previously rated participants, [rated, n) new ones. For each unordered pair
 * (i < j) it evaluates one e = erf((r_j − r_i) / √(2(v_i² + v_j²))); WP(j beats i) = (1 + e)/2 and
 * WP(i beats j) = (1 − e)/2 because erf is odd, so sums[i] += e and sums[j] −= e.
 * Previously rated participants only compare among themselves, new ones against everyone, so rated-rated and
 * new-new pairs feed both sides, rated-new pairs only the new side. Every pair is evaluated at most once.
 * Afterwards ERank_k = 0.5 + pool/2 + sums[k]/2 (the self term WP = ½ included), pool = rated or n.
 *
 * erf is the tabulated one (erf-table.ts, error ~3e-16): the loop's cost is then a sqrt and a division per pair.
 * v2 holds volatilities squared. Two zero volatilities make the erf argument ±d/0: the win is then certain
 * (±1) or, for equal ratings, a coin toss (0) — the limit of the formula, never NaN.
 */
export function accumulateWinSums(r: Float64Array, v2: Float64Array, sums: Float64Array, rated: number, n: number): void {
  sums.fill(0, 0, n);
  for (let i = 0; i < n; i++) {
    const ri = r[i]!;
    const vi = v2[i]!;
    let si = 0;
    // While i is rated, pairs with rated j feed both sides; from `rated` on (j new) only j's side.
    const both = i < rated ? rated : n;
    for (let j = i + 1; j < both; j++) {
      const e = pairErf(r[j]! - ri, vi + v2[j]!);
      si += e;
      sums[j]! -= e;
    }
    for (let j = both; j < n; j++) sums[j]! -= pairErf(r[j]! - ri, vi + v2[j]!);
    sums[i]! += si;
  }
}

/** erf(d / √(2·s)) with the zero-variance limit. */
function pairErf(d: number, s: number): number {
  if (s > 0) return erfTabulated(d / Math.sqrt(2 * s));
  return d > 0 ? 1 : d < 0 ? -1 : 0;
}

/** Number of erf evaluations accumulateWinSums makes for n participants: every unordered pair once. */
export function pairCount(n: number): number {
  return (n * (n - 1)) / 2;
}
