import { erf } from './normal';

/**
 * erf from a table of quintic Hermite pieces — the pair loop's erf. Each piece of [0, 6) of width 1/128 matches
 * erf and its first two derivatives at both ends (all computed from the accurate erf at load time), so the
 * worst error over the range is ~3e-16 (test/rating-engine.test.ts checks < 1e-15 on a dense grid); beyond 6,
 * erf = ±1 within 2e-17. No exp, no division: 2–5× faster than the rational approximations in the pair loop.
 * Odd by construction (sign applied last), which the one-erf-per-unordered-pair trick relies on.
 */

const PER_UNIT = 128;
const LIMIT = 6;
const COEFFS = buildTable();

function buildTable(): Float64Array {
  const pieces = LIMIT * PER_UNIT;
  const h = 1 / PER_UNIT;
  const d1 = (x: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
  const d2 = (x: number) => -2 * x * d1(x);
  const c = new Float64Array(pieces * 6);
  for (let k = 0; k < pieces; k++) {
    const x0 = k * h;
    const x1 = (k + 1) * h;
    // p(t) = Σ c_i t^i on t ∈ [0, 1] with p, p', p'' matching erf at t = 0 and t = 1 (derivatives scaled by h).
    const c0 = erf(x0);
    const c1 = h * d1(x0);
    const c2 = (h * h * d2(x0)) / 2;
    const a = erf(x1) - c0 - c1 - c2;
    const b = h * d1(x1) - c1 - 2 * c2;
    const cc = h * h * d2(x1) - 2 * c2;
    c.set([c0, c1, c2, 10 * a - 4 * b + cc / 2, -15 * a + 7 * b - cc, 6 * a - 3 * b + cc / 2], k * 6);
  }
  return c;
}

export function erfTabulated(x: number): number {
  const a = x < 0 ? -x : x;
  if (!(a < LIMIT)) return x < 0 ? -1 : 1;
  const s = a * PER_UNIT;
  const k = s | 0;
  const t = s - k;
  const i = k * 6;
  const c = COEFFS;
  const y = c[i]! + t * (c[i + 1]! + t * (c[i + 2]! + t * (c[i + 3]! + t * (c[i + 4]! + t * c[i + 5]!))));
  return x < 0 ? -y : y;
}
