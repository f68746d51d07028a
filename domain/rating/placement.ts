/**
 * Competition ranking ("1224"): 1 + the number of strictly higher scores. Equal scores share a placement; the
 * next distinct score skips the tied places. Result aligned with the input.
 */
export function competitionPlacements(scores: readonly number[]): number[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const out = new Array<number>(scores.length);
  let place = 0;
  order.forEach((i, k) => {
    if (k === 0 || scores[i] !== scores[order[k - 1]!]) place = k + 1;
    out[i] = place;
  });
  return out;
}
