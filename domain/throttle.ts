import { z } from 'zod';

/**
 * Live reads come first (the platform is live while it is migrated). A long phase throttles itself on the health
 * of the database, as gh-ost and GitLab's batched migrations do: the read API's own recent p99 latency, queries
 * running on the server, and sessions waiting on locks. While any is over its limit the phase halves the batches
 * it allows in flight (down to none: it waits); while all are comfortably under, it allows one more, up to the
 * operator's concurrency. Pure: the workflow feeds it readings, the store takes them.
 */

export const ThrottleSettings = z.object({
  enabled: z.boolean().default(true),
  /** the API's p99 read latency the phase protects (ms) */
  readBudgetMs: z
    .number()
    .int()
    .min(10, { error: '--read-budget-ms must be between 10 and 60000' })
    .max(60_000, { error: '--read-budget-ms must be between 10 and 60000' })
    .default(200),
  /** queries running on the server (ours included) above which the server counts as busy */
  maxActiveQueries: z.number().int().min(1).max(10_000).default(64),
  /** sessions waiting on a lock above which the phase backs off (it may be the one holding them) */
  maxLockWaits: z.number().int().min(0).max(10_000).default(4),
  /** how often health is read while the phase runs (s) */
  probeSeconds: z.number().min(0.5).max(60).default(2),
});
export type ThrottleSettings = z.infer<typeof ThrottleSettings>;
export type ThrottleSettingsInput = z.input<typeof ThrottleSettings>;

/** One reading of the database's health. */
export interface DbHealth {
  /** the read API's p99 over its last few seconds, across API processes; null when no reads were served lately */
  readP99Ms: number | null;
  readSamples: number;
  activeQueries: number;
  lockWaits: number;
}

export interface ThrottleStep {
  /** batches allowed in flight from now on (0: wait) */
  allowed: number;
  /** why the phase is held back, for progress and status; empty when it is not */
  reasons: string[];
}

/** Below this share of every limit the database is comfortable and the phase may speed up again. */
const COMFORT = 0.7;

export function throttleStep(allowed: number, ceiling: number, h: DbHealth, s: ThrottleSettings): ThrottleStep {
  if (!s.enabled) return { allowed: ceiling, reasons: [] };
  const over: string[] = [];
  if (h.readP99Ms !== null && h.readP99Ms > s.readBudgetMs) over.push(`read p99 ${Math.round(h.readP99Ms)} ms > ${s.readBudgetMs} ms`);
  if (h.activeQueries > s.maxActiveQueries) over.push(`${h.activeQueries} active queries > ${s.maxActiveQueries}`);
  if (h.lockWaits > s.maxLockWaits) over.push(`${h.lockWaits} lock waits > ${s.maxLockWaits}`);
  const current = Math.min(allowed, ceiling);
  if (over.length > 0) return { allowed: Math.floor(current / 2), reasons: over };
  const comfortable =
    (h.readP99Ms === null || h.readP99Ms <= s.readBudgetMs * COMFORT) &&
    h.activeQueries <= s.maxActiveQueries * COMFORT &&
    h.lockWaits <= Math.floor(s.maxLockWaits * COMFORT);
  const next = comfortable ? Math.min(ceiling, current + 1) : current;
  const held = `holding at ${next} of ${ceiling} batches until the database is comfortable (read p99 ≤ ${Math.round(s.readBudgetMs * COMFORT)} ms)`;
  return { allowed: next, reasons: next < ceiling ? [held] : [] };
}
