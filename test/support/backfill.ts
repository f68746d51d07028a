import { sql, type Kysely } from 'kysely';
import type { Client } from '@temporalio/client';
import type { BackfillOptions } from '../../domain/backfill';
import type { BackfillResult, BackfillTuning } from '../../workflows/backfill/workflow';
import { Backfill } from '../../workflows/backfill/messages';

let seq = 0;
/** Tests use their own workflow ids: files run in parallel against one server. */
export function startTestBackfill(client: Client, taskQueue: string, options: Partial<BackfillOptions>, tuning?: BackfillTuning) {
  return client.workflow.start(Backfill, {
    taskQueue,
    workflowId: `test/backfill/${process.pid}/${Date.now()}/${seq++}`,
    args: [{ options: { skipHistory: false, skipRerate: false, concurrency: 4, batchSize: 500, csvOnly: false, ...options }, tuning }],
  });
}

export async function runTestBackfill(
  client: Client,
  taskQueue: string,
  options: Partial<BackfillOptions>,
  tuning?: BackfillTuning,
): Promise<BackfillResult> {
  const h = await startTestBackfill(client, taskQueue, options, tuning);
  return await h.result();
}

/** A checksum of the unified tables' content (ids and timestamps left out: they differ between equal runs). */
export async function unifiedChecksum(db: Kysely<any>): Promise<{ stats: string; history: string; maxRating: string; counts: number[] }> {
  const r = await sql<{ stats: string; history: string; max: string; ns: number; nh: number; nm: number }>`
    SELECT
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "globalRank",
               "countryRank", "schoolRank", percentile, "avgRank", "avgNumSubmissions", "bestRank", "topFiveFinishes",
               "topTenFinishes", "mostRecentEventDate", "mostRecentSubmission", "isPrivate" FROM members."memberStats") t) AS stats,
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating", "oldVolatility",
               "newVolatility", placement, percentile, "eventDate", "mostRecent", "createdBy" FROM members."memberStatsHistory") t) AS history,
      (SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t::text), '')) FROM (
        SELECT "userId", rating, track, "subTrack", "ratingColor" FROM members."memberMaxRating") t) AS max,
      (SELECT count(*)::int FROM members."memberStats") AS ns,
      (SELECT count(*)::int FROM members."memberStatsHistory") AS nh,
      (SELECT count(*)::int FROM members."memberMaxRating") AS nm`.execute(db);
  const row = r.rows[0]!;
  return { stats: row.stats, history: row.history, maxRating: row.max, counts: [row.ns, row.nh, row.nm] };
}

export async function clearUnified(db: Kysely<any>): Promise<void> {
  await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(db);
}

/**
 * "The data is backfilled" as a precondition a test can ask for, whatever ran before it: backfills (every member)
 * unless the unified tables already hold exactly what the last such backfill wrote. Keeps tests independent of
 * their order.
 */
export function backfilledState(client: Client, taskQueue: string, db: Kysely<any>): () => Promise<void> {
  let baseline: string | undefined;
  return async () => {
    if (baseline !== undefined && JSON.stringify(await unifiedChecksum(db)) === baseline) return;
    await runTestBackfill(client, taskQueue, {});
    baseline = JSON.stringify(await unifiedChecksum(db));
  };
}
