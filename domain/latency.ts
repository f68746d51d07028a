/** Latency summaries: the API's published window, the throttle's reading and the live-reads bench use one definition. */

/** The q-quantile (0..1) of ascending values, nearest-rank: p99 of 100 values is the 99th. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarize(values: readonly number[]): { p50Ms: number; p99Ms: number; samples: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), samples: sorted.length };
}
