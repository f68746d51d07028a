/**
 * The normal-distribution functions the rating engine needs: erf/erfc accurate to about 1e-15 and the inverse
 * normal CDF (Acklam's rational approximation plus one Halley refinement step, as the reference does).
 *
 * erf/erfc follow the classic rational approximations of Sun's fdlibm (s_erf.c): public coefficients, ranges
 * |x| < 0.84375, < 1.25, < 1/0.35, < 6 (erf) or < 28 (erfc). The reference engines use a 1.2e-7 Chebyshev
 * approximation instead; after rounding to integers both agree (see README.md).
 * All functions are odd/even-symmetric exactly (they work on |x| and apply the sign last), which the engine's
 * "one erf per unordered pair" relies on.
 */

const ERX = 8.45062911510467529297e-1;
// |x| < 0.84375
const EFX = 1.28379167095512586316e-1;
const PP0 = 1.28379167095512558561e-1;
const PP1 = -3.2504210724700149937e-1;
const PP2 = -2.84817495755985104766e-2;
const PP3 = -5.77027029648944159157e-3;
const PP4 = -2.37630166566501626084e-5;
const QQ1 = 3.97917223959155352819e-1;
const QQ2 = 6.50222499887672944485e-2;
const QQ3 = 5.08130628187576562776e-3;
const QQ4 = 1.32494738004321644526e-4;
const QQ5 = -3.9602282787753681232e-6;
// 0.84375 <= |x| < 1.25
const PA0 = -2.36211856075265944077e-3;
const PA1 = 4.14856118683748331666e-1;
const PA2 = -3.72207876035701323847e-1;
const PA3 = 3.18346619901161753674e-1;
const PA4 = -1.10894694282396677476e-1;
const PA5 = 3.54783043256182359371e-2;
const PA6 = -2.166375594868790843e-3;
const QA1 = 1.06420880400844228286e-1;
const QA2 = 5.40397917702171048937e-1;
const QA3 = 7.18286544141962662868e-2;
const QA4 = 1.26171219808761642112e-1;
const QA5 = 1.36370839120290507362e-2;
const QA6 = 1.1984499846799107417e-2;
// 1.25 <= |x| < 1/0.35
const RA0 = -9.86494403484714822705e-3;
const RA1 = -6.93858572707181764372e-1;
const RA2 = -1.05586262253232909814e1;
const RA3 = -6.23753324503260060396e1;
const RA4 = -1.62396669462573470355e2;
const RA5 = -1.84605092906711035994e2;
const RA6 = -8.12874355063065934246e1;
const RA7 = -9.81432934416914548592;
const SA1 = 1.96512716674392571292e1;
const SA2 = 1.376577541435190426e2;
const SA3 = 4.34565877475229228821e2;
const SA4 = 6.45387271733267880336e2;
const SA5 = 4.29008140027567833386e2;
const SA6 = 1.08635005541779435134e2;
const SA7 = 6.57024977031928170135;
const SA8 = -6.04244152148580987438e-2;
// 1/0.35 <= |x| < 28
const RB0 = -9.86494292470009928597e-3;
const RB1 = -7.99283237680523006574e-1;
const RB2 = -1.77579549177547519889e1;
const RB3 = -1.60636384855821916062e2;
const RB4 = -6.37566443368389627722e2;
const RB5 = -1.02509513161107724954e3;
const RB6 = -4.83519191608651397019e2;
const SB1 = 3.03380607434824582924e1;
const SB2 = 3.25792512996573918826e2;
const SB3 = 1.53672958608443695994e3;
const SB4 = 3.19985821950859553908e3;
const SB5 = 2.55305040643316442583e3;
const SB6 = 4.74528541206955367215e2;
const SB7 = -2.24409524465858183362e1;

/** erf on [0, 0.84375) as x + x·R(x²)/S(x²). */
function erfSmall(x: number): number {
  const z = x * x;
  const r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
  const s = 1 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
  return x + x * (r / s);
}

/** erfc(a) for a in [0.84375, 28): the two tail fits. A single exp of −a²−0.5625+R/S loses ~1e-15, enough here. */
function erfcTail(a: number): number {
  if (a < 1.25) {
    const s = a - 1;
    const p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
    const q = 1 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
    return 1 - ERX - p / q;
  }
  const s = 1 / (a * a);
  let r: number;
  let q: number;
  if (a < 1 / 0.35) {
    r = RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))));
    q = 1 + s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8)))))));
  } else {
    r = RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))));
    q = 1 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))));
  }
  return Math.exp(-a * a - 0.5625 + r / q) / a;
}

/** The error function; ±Infinity → ±1, NaN → NaN (callers never pass NaN). */
export function erf(x: number): number {
  const a = x < 0 ? -x : x;
  let y: number;
  if (a < 0.84375) {
    if (a < 3.7252902984e-9) return x + EFX * x; // 2^-28: the linear term is exact enough
    return erfSmall(x);
  }
  if (a < 6) y = 1 - erfcTail(a);
  else y = 1;
  return x < 0 ? -y : y;
}

/** The complementary error function 1 − erf(x), accurate in the far tails too. */
export function erfc(x: number): number {
  const a = x < 0 ? -x : x;
  if (a < 0.84375) {
    if (a < 1.3877787807814457e-17) return 1 - x; // 2^-56
    return 1 - erfSmall(x);
  }
  const t = a < 28 ? erfcTail(a) : 0;
  return x < 0 ? 2 - t : t;
}

/** Standard normal CDF Φ(x). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

// Acklam's coefficients (public, relative error 1.15e-9 before refinement).
const A0 = -3.969683028665376e1;
const A1 = 2.209460984245205e2;
const A2 = -2.759285104469687e2;
const A3 = 1.38357751867269e2;
const A4 = -3.066479806614716e1;
const A5 = 2.506628277459239;
const B0 = -5.447609879822406e1;
const B1 = 1.615858368580409e2;
const B2 = -1.556989798598866e2;
const B3 = 6.680131188771972e1;
const B4 = -1.328068155288572e1;
const C0 = -7.784894002430293e-3;
const C1 = -3.223964580411365e-1;
const C2 = -2.400758277161838;
const C3 = -2.549732539343734;
const C4 = 4.374664141464968;
const C5 = 2.938163982698783;
const D0 = 7.784695709041462e-3;
const D1 = 3.224671290700398e-1;
const D2 = 2.445134137142996;
const D3 = 3.754408661907416;
const P_LOW = 0.02425;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

function tailEstimate(p: number): number {
  const q = Math.sqrt(-2 * Math.log(p));
  return (((((C0 * q + C1) * q + C2) * q + C3) * q + C4) * q + C5) / ((((D0 * q + D1) * q + D2) * q + D3) * q + 1);
}

/**
 * Φ⁻¹(p) for p strictly inside (0, 1). Throws outside: the engine guarantees p ∈ [0.5/N, 1 − 0.5/N], so an
 * out-of-range p is a bug, never an Infinity to propagate.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  let x: number;
  if (p < P_LOW) x = tailEstimate(p);
  else if (p > 1 - P_LOW) x = -tailEstimate(1 - p);
  else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((A0 * r + A1) * r + A2) * r + A3) * r + A4) * r + A5) * q) / (((((B0 * r + B1) * r + B2) * r + B3) * r + B4) * r + 1);
  }
  // One Halley step on Φ(x) − p brings Acklam's 1e-9 to full double precision.
  const e = normalCdf(x) - p;
  const u = e * SQRT_2PI * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}
