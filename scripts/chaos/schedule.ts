import type { ChaosSettings, FaultKind } from './harness';

/** When each backfill fault fires: the fraction of batches committed, faults of each kind spread over the run. */
export interface Planned {
  kind: FaultKind;
  /** fires once this fraction of the batches has committed (and the previous fault has been recovered from) */
  at: number;
}

const ORDER: FaultKind[] = ['worker SIGKILL', 'temporal restart', 'postgres sessions'];

export function backfillSchedule(s: ChaosSettings): Planned[] {
  const counts: Record<FaultKind, number> = {
    'worker SIGKILL': s.kills,
    'temporal restart': s.temporalRestarts,
    // the last termination is kept for parity
    'postgres sessions': Math.max(0, s.pgTerminations - 1),
  };
  // each kind evenly over (0, 1), merged in that order; then the merged sequence is spread evenly over 5–90 %
  const merged = ORDER.flatMap((kind) => Array.from({ length: counts[kind] }, (_, i) => ({ kind, key: (i + 0.5) / counts[kind] }))).sort(
    (a, b) => a.key - b.key || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind),
  );
  return merged.map((p, j) => ({ kind: p.kind, at: 0.05 + (0.85 * (j + 0.5)) / merged.length }));
}
