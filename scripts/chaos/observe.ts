import { sql, type Kysely } from 'kysely';
import type { BackfillTotals } from '../../domain/backfill';

/**
 * What the harness reads straight from Postgres: progress that needs neither Temporal nor a worker to answer
 * (both are down at times), stored evidence, and our backends for the Postgres faults.
 */

export interface BackfillMark {
  /** batches whose commit is recorded (platform."backfillCheckpoint"): the database's truth, not the workflow's view */
  committed: number;
  total: number;
  status: string;
}

/** The run's progress; undefined while it is still preparing. `runKey` is the workflow's first run id. */
export async function backfillMark(db: Kysely<any>, runKey: string): Promise<BackfillMark | undefined> {
  const r = await sql<BackfillMark>`
    SELECT jsonb_array_length(r.plan->'ranges')::int AS total, r.status,
           (SELECT count(*)::int FROM platform."backfillCheckpoint" c WHERE c."runKey" = r."runKey") AS committed
    FROM platform."backfillRun" r WHERE r."runKey" = ${runKey}`.execute(db);
  return r.rows[0];
}

export interface StoredEvidence {
  /** rows stored for the workflow (a retried store must update its row, never add one) */
  rows: number;
  passed: boolean | null;
  result: Record<string, unknown> | null;
}

export async function evidenceOf(db: Kysely<any>, kind: string, workflowId: string): Promise<StoredEvidence> {
  const r = await sql<StoredEvidence>`
    SELECT count(*)::int AS rows, (array_agg(passed ORDER BY id DESC))[1] AS passed, (array_agg(result ORDER BY id DESC))[1] AS result
    FROM platform.evidence WHERE kind = ${kind} AND "workflowId" = ${workflowId}`.execute(db);
  return r.rows[0] ?? { rows: 0, passed: null, result: null };
}

/** The counts a backfill's evidence states, as stored. */
export function evidenceTotals(e: StoredEvidence): (Partial<BackfillTotals> & { ranksChanged?: number }) | undefined {
  const result = e.result as { totals?: BackfillTotals; ranksChanged?: number } | null;
  return result?.totals ? { ...result.totals, ranksChanged: result.ranksChanged } : undefined;
}

/** Our backends that are doing something (a query, or holding a transaction open): where a lost connection hurts. */
export async function busyBackends(db: Kysely<any>, database: string, application: string): Promise<number> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = ${database} AND application_name = ${application} AND state <> 'idle' AND pid <> pg_backend_pid()`.execute(db);
  return r.rows[0]?.n ?? 0;
}

/**
 * "Restart Postgres" on a shared server: end every session of the product on this database, as a restart, a
 * failover or an idle-session reaper would. Returns how many were ended and how many of those were busy.
 */
export async function terminateBackends(
  db: Kysely<any>,
  database: string,
  application: string,
): Promise<{ terminated: number; busy: number }> {
  const r = await sql<{ terminated: number; busy: number }>`
    WITH ours AS (
      SELECT pid, state FROM pg_stat_activity
      WHERE datname = ${database} AND application_name = ${application} AND pid <> pg_backend_pid()
    ), ended AS (SELECT state, pg_terminate_backend(pid) AS ok FROM ours)
    SELECT count(*) FILTER (WHERE ok)::int AS terminated, count(*) FILTER (WHERE ok AND state <> 'idle')::int AS busy FROM ended`.execute(
    db,
  );
  return r.rows[0] ?? { terminated: 0, busy: 0 };
}
