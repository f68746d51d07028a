import { sql, type Kysely } from 'kysely';
import type { DbHealth } from '../domain/throttle';

/** The read API's latency over its last few seconds, as one API process saw it. */
export interface LatencyWindow {
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

/** An API process publishes its window (one upsert a second, not one per request). */
export async function publishReadLatency(db: Kysely<any>, instance: string, w: LatencyWindow): Promise<void> {
  await sql`
    INSERT INTO platform."readLatency" (instance, "p50Ms", "p99Ms", samples, "updatedAt")
    VALUES (${instance}, ${w.p50Ms}, ${w.p99Ms}, ${w.samples}, now())
    ON CONFLICT (instance) DO UPDATE SET "p50Ms" = EXCLUDED."p50Ms", "p99Ms" = EXCLUDED."p99Ms", samples = EXCLUDED.samples,
      "updatedAt" = EXCLUDED."updatedAt"`.execute(db);
}

/**
 * One reading for the throttle: the worst p99 any API process published in the last `freshSeconds` (enough
 * samples to mean something), queries running on the server, and sessions waiting on a lock. Cheap: catalogue
 * views and a handful of rows.
 */
export async function readDbHealth(db: Kysely<any>, freshSeconds = 6, minSamples = 5): Promise<DbHealth> {
  const r = await sql<{ p99: number | null; samples: number; active: number; lockWaits: number }>`
    SELECT
      (SELECT max("p99Ms") FROM platform."readLatency"
        WHERE "updatedAt" > now() - make_interval(secs => ${freshSeconds}) AND samples >= ${minSamples}) AS p99,
      (SELECT COALESCE(sum(samples), 0)::int FROM platform."readLatency" WHERE "updatedAt" > now() - make_interval(secs => ${freshSeconds})) AS samples,
      (SELECT count(*)::int FROM pg_stat_activity
        WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()) AS active,
      (SELECT count(*)::int FROM pg_stat_activity WHERE wait_event_type = 'Lock') AS "lockWaits"`.execute(db);
  const row = r.rows[0]!;
  return {
    readP99Ms: row.p99 === null ? null : Number(row.p99),
    readSamples: row.samples,
    activeQueries: row.active,
    lockWaits: row.lockWaits,
  };
}
