/**
 * What the platform's metrics count, from what activities return. Pure: the process registry (lib/metrics.ts)
 * and the activity interceptor (workers/metrics.ts) apply it.
 */

/** The runbook phase an activity belongs to, from its name (backfillBatch → backfill). */
export function phaseOfActivity(activityType: string): string {
  const m = /^(preflight|backfill|parity|switch|rerate|dedupe|refresh|reports|reconcile|cutover|gate)/i.exec(activityType);
  return m ? m[1]!.toLowerCase() : 'other';
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

/**
 * Rows an activity wrote to the unified tables, from its result: a backfill batch's stats and history rows, a
 * rerate chunk's changed rows, a refresh's updated rows. A batch or chunk that reports an earlier commit (resumed)
 * wrote nothing now.
 */
export function rowsWrittenBy(activityType: string, result: unknown): number {
  if (result === null || typeof result !== 'object') return 0;
  const r = result as Record<string, unknown>;
  if (r.resumed === true) return 0;
  switch (activityType) {
    case 'backfillBatch':
      return num(r.statsRows) + num(r.historyRows);
    case 'rerateChunk':
      return num(r.written);
    case 'refreshChallengeMembers':
    case 'refreshMemberRun':
      return num(r.statsUpdated) + num(r.historyUpdated);
    default:
      return 0;
  }
}
