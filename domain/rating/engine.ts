import { accumulateWinSums } from './kernel';
import { normalQuantile } from './normal';

/**
 * One rated event of the Topcoder two-pass ("Qubits") algorithm — see ../../../shared/RATINGS.md and README.md.
 *
 * Decisions beyond the spec (all tested in test/rating-engine.test.ts):
 * - New = `rating === null` or `timesRated === 0`: enters at 1200/515, rated in the second pass with n = 0 (weight,
 *   cap and the first-rating volatility 385), `timesRated` still grows by one from whatever was given.
 *   A previously rated participant with `volatility === null` uses 515.
 * - A pool of one has no competition factor (N − 1 = 0), but it needs none: ERank = ARank = 1, so
 *   APerf − EPerf = 0 and NewR = r for any CF. The participant keeps the rating, the volatility follows the
 *   formula (√(v²/(1+w)), as member-api-v6 computes it) and timesRated + 1. A one-person event: 1200/385/1.
 * - All volatilities 0: WP takes its limit (certain win, or ½ for equal ratings); CF may be 0 (then PerfAs = r).
 * - Input outside the domain (non-finite numbers, negative rating/volatility, beyond RATING_LIMIT /
 *   VOLATILITY_LIMIT, timesRated not a non-negative integer below 2^53 − 1, duplicate ids) throws a RangeError naming the
 *   participant and field; nothing non-finite can come out.
 * - Results do not depend on input order: participants are laid out canonically (score desc, then id) before
 *   any floating-point sum, so sums run in the same order for every permutation.
 */

export interface RatingParticipant {
  id: string;
  rating: number | null;
  volatility: number | null;
  timesRated: number;
  score: number;
}

export interface RatingResult {
  id: string;
  rating: number;
  volatility: number;
  timesRated: number;
}

export const INITIAL_RATING = 1200;
export const INITIAL_VOLATILITY = 515;
export const FIRST_VOLATILITY = 385;
/** Far above any real rating/volatility; the bounds only rule out overflow in squares and sums. */
export const RATING_LIMIT = 100_000;
export const VOLATILITY_LIMIT = 100_000;

const INITIAL_WEIGHT = 0.6;
const FINAL_WEIGHT = 0.18;

/** Whether a participant enters as new (second pass, 1200/515, first-rating rules). */
export function isNewParticipant(p: Pick<RatingParticipant, 'rating' | 'timesRated'>): boolean {
  return p.rating === null || p.timesRated === 0;
}

/** w = 1/(1 − (0.42/(n+1) + 0.18)) − 1, × 0.9 for 2000 ≤ r < 2500, × 0.8 for r ≥ 2500. Always > 0.2. */
export function ratingWeight(rating: number, n: number): number {
  const w = 1 / (1 - ((INITIAL_WEIGHT - FINAL_WEIGHT) / (n + 1) + FINAL_WEIGHT)) - 1;
  if (rating >= 2500) return w * 0.8;
  if (rating >= 2000) return w * 0.9;
  return w;
}

/** Largest allowed change of the unrounded rating: 150 + 1500/(n + 2). */
export function ratingCap(n: number): number {
  return 150 + 1500 / (n + 2);
}

// Scratch buffers reused across events (the engine is synchronous, so never shared mid-call).
let cap = 0;
let rBuf = new Float64Array(0);
let v2Buf = new Float64Array(0);
let sumBuf = new Float64Array(0);
let rankAll = new Float64Array(0);
let rankRated = new Float64Array(0);

function ensureCapacity(n: number): void {
  if (n <= cap) return;
  cap = Math.max(n, cap * 2, 64);
  rBuf = new Float64Array(cap);
  v2Buf = new Float64Array(cap);
  sumBuf = new Float64Array(cap);
  rankAll = new Float64Array(cap);
  rankRated = new Float64Array(cap);
}

function fail(index: number, field: string, message: string): never {
  throw new RangeError(`participants[${index}].${field}: ${message}`);
}

function validate(participants: readonly RatingParticipant[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < participants.length; i++) {
    const p = participants[i]!;
    if (typeof p.id !== 'string') fail(i, 'id', 'expected a string');
    if (seen.has(p.id)) fail(i, 'id', `duplicate id ${JSON.stringify(p.id)}`);
    seen.add(p.id);
    if (p.rating !== null && !(Number.isFinite(p.rating) && p.rating >= 0 && p.rating <= RATING_LIMIT)) {
      fail(i, 'rating', `expected null or a number in [0, ${RATING_LIMIT}]`);
    }
    if (p.volatility !== null && !(Number.isFinite(p.volatility) && p.volatility >= 0 && p.volatility <= VOLATILITY_LIMIT)) {
      fail(i, 'volatility', `expected null or a number in [0, ${VOLATILITY_LIMIT}]`);
    }
    // + 1 must stay a safe integer, so the result is valid input to the next event.
    if (!(Number.isSafeInteger(p.timesRated + 1) && Number.isInteger(p.timesRated) && p.timesRated >= 0)) {
      fail(i, 'timesRated', 'expected a non-negative integer');
    }
    if (!Number.isFinite(p.score)) fail(i, 'score', 'expected a finite number');
  }
}

/** Input indices in canonical order: score desc, then id (code-unit order, locale-free). */
function canonicalOrder(participants: readonly RatingParticipant[]): number[] {
  const n = participants.length;
  const scores = new Float64Array(n);
  const ids = new Array<string>(n);
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const p = participants[i]!;
    scores[i] = p.score;
    ids[i] = p.id;
    order[i] = i;
  }
  order.sort((a, b) => {
    const d = scores[b]! - scores[a]!;
    if (d !== 0) return d;
    const ia = ids[a]!;
    const ib = ids[b]!;
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  return order;
}

/**
 * Average positions (ties share the mean of their 1-based positions) within the pool of `order` entries whose
 * flag equals `member`; `order` is score-desc by input index, `out` is written at layout positions (posOf).
 */
function averageRanks(
  participants: readonly RatingParticipant[],
  order: readonly number[],
  isNew: Uint8Array,
  member: number | null,
  posOf: Int32Array,
  out: Float64Array,
): void {
  let k = 0; // position within the pool
  let start = 0; // index into order of the current tie group's first pool member
  while (start < order.length) {
    if (member !== null && isNew[order[start]!] !== member) {
      start++;
      continue;
    }
    const s = participants[order[start]!]!.score;
    let end = start;
    let count = 0;
    while (end < order.length && participants[order[end]!]!.score === s) {
      if (member === null || isNew[order[end]!] === member) count++;
      end++;
    }
    const avg = k + (count + 1) / 2;
    for (let m = start; m < end; m++) if (member === null || isNew[order[m]!] === member) out[posOf[order[m]!]!] = avg;
    k += count;
    start = end;
  }
}

/** CF = √(Σv²/N + Σ(r − Ave)²/(N − 1)); the variance term is 0 for N = 1 (where CF does not matter). */
function competitionFactor(from: number, to: number): number {
  const n = to - from;
  let sum = 0;
  let sumV2 = 0;
  for (let k = from; k < to; k++) {
    sum += rBuf[k]!;
    sumV2 += v2Buf[k]!;
  }
  const ave = sum / n;
  let dev = 0;
  for (let k = from; k < to; k++) dev += (rBuf[k]! - ave) ** 2;
  return Math.sqrt(sumV2 / n + (n > 1 ? dev / (n - 1) : 0));
}

/** Rates one event; results in input order, one per participant. */
export function rateEvent(participants: readonly RatingParticipant[]): RatingResult[] {
  return rateEventWithPlacements(participants).results;
}

/**
 * rateEvent plus each participant's competition placement by score (1, 2, 2, 4), in input order — the replay's
 * history needs it, and the engine has the score order at hand.
 */
export function rateEventWithPlacements(participants: readonly RatingParticipant[]): { results: RatingResult[]; placements: number[] } {
  validate(participants);
  const n = participants.length;
  if (n === 0) return { results: [], placements: [] };
  ensureCapacity(n);

  // Layout: rated first, then new, each in canonical order; layout[pos] = input index.
  const order = canonicalOrder(participants);
  const isNew = new Uint8Array(n);
  let rated = 0;
  for (let i = 0; i < n; i++) {
    isNew[i] = isNewParticipant(participants[i]!) ? 1 : 0;
    if (isNew[i] === 0) rated++;
  }
  const layout = new Int32Array(n);
  const posOf = new Int32Array(n);
  let nextRated = 0;
  let nextNew = rated;
  for (const i of order) {
    const pos = isNew[i] ? nextNew++ : nextRated++;
    layout[pos] = i;
    posOf[i] = pos;
    const p = participants[i]!;
    const v = isNew[i] || p.volatility === null ? INITIAL_VOLATILITY : p.volatility;
    rBuf[pos] = isNew[i] ? INITIAL_RATING : p.rating!;
    v2Buf[pos] = v * v;
  }

  // Actual ranks: among everyone (new participants' pool) and among the rated (rated participants' pool).
  averageRanks(participants, order, isNew, null, posOf, rankAll);
  averageRanks(participants, order, isNew, 0, posOf, rankRated);

  accumulateWinSums(rBuf, v2Buf, sumBuf, rated, n);
  const cfRated = rated > 0 ? competitionFactor(0, rated) : 0;
  const cfAll = rated < n ? competitionFactor(0, n) : 0;

  const results: RatingResult[] = new Array<RatingResult>(n);
  for (let pos = 0; pos < n; pos++) {
    const isNew = pos >= rated;
    const input = participants[layout[pos]!]!;
    const pool = isNew ? n : rated;
    const r = rBuf[pos]!;
    const v2 = v2Buf[pos]!;
    const nPrior = isNew ? 0 : input.timesRated;
    // (ERank − 0.5)/N with ERank = 0.5 + N/2 + sum/2; clamped to its exact-math range [0.5/N, 1 − 0.5/N].
    const half = 0.5 / pool;
    const pExpected = Math.min(1 - half, Math.max(half, 0.5 + (0.5 * sumBuf[pos]!) / pool));
    const ePerf = -normalQuantile(pExpected);
    const aPerf = -normalQuantile(((isNew ? rankAll[pos]! : rankRated[pos]!) - 0.5) / pool);
    const cf = isNew ? cfAll : cfRated;
    const w = ratingWeight(r, nPrior);
    const limit = ratingCap(nPrior);
    // NewR = (r + w·PerfAs)/(1 + w) written as r + w·(PerfAs − r)/(1 + w): exact r when APerf = EPerf.
    let delta = (w * cf * (aPerf - ePerf)) / (1 + w);
    if (delta > limit) delta = limit;
    else if (delta < -limit) delta = -limit;
    let newR = r + delta;
    if (newR < 1) newR = 1;
    const newV = isNew ? FIRST_VOLATILITY : Math.sqrt((newR - r) ** 2 / w + v2 / (1 + w));
    results[layout[pos]!] = {
      id: input.id,
      rating: Math.round(newR),
      volatility: Math.round(newV),
      timesRated: input.timesRated + 1,
    };
  }
  const placements = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const prev = k > 0 ? order[k - 1]! : -1;
    placements[i] = prev >= 0 && participants[prev]!.score === participants[i]!.score ? placements[prev]! : k + 1;
  }
  return { results, placements };
}
