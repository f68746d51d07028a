import { sql, type Kysely } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import type { DedupeRunCounts, DuplicateSummary, RoundEntry } from '../../domain/dedupe';
import { MARATHON_KEY } from '../../domain/mapping';
import { keyIds } from '../catalog';
import { ids } from '../sql';
import { duplicates, summarize, type DedupeScope } from './find';
import { checkTombstoneColumns, findDedupeRun, HISTORY_COLUMNS, lockDedupe, tombstoneRows } from './runs';

export interface DedupeApplied extends DuplicateSummary {
  mostRecent: { cleared: number; set: number };
  /** the run was applied before (a retried activity): nothing was done again */
  alreadyApplied: boolean;
}

/**
 * One transaction: the duplicates removed and copied, as deleted, into the run's tombstone; then mostRecent on the
 * latest remaining Marathon Match row of each member concerned (cleared before set: a partial unique index allows
 * one per member and key), every flag moved recorded with its old value. A run already applied is not redone.
 */
export async function applyDedupe(
  db: Kysely<any>,
  catalog: Catalog,
  rounds: readonly RoundEntry[],
  run: { runId: string; options: DedupeScope; startedAt: Date },
): Promise<DedupeApplied> {
  const { runId } = run;
  const [trackId, typeId] = keyIds(catalog, MARATHON_KEY);
  return db.transaction().execute(async (tx) => {
    await lockDedupe(tx);
    const prior = await findDedupeRun(tx, runId, true);
    if (prior) {
      const c = prior.counts as unknown as DedupeRunCounts;
      return {
        ...(await summarize(tx, tombstoneRows(runId))),
        mostRecent: { cleared: c.mostRecentCleared, set: c.mostRecentSet },
        alreadyApplied: true,
      };
    }
    await checkTombstoneColumns(tx);
    await sql`
      INSERT INTO platform."dedupeRun" ("runId", status, options, "startedAt", "appliedAt")
      VALUES (${runId}, 'applied', ${JSON.stringify(run.options)}::jsonb, ${run.startedAt}, clock_timestamp())`.execute(tx);

    // what is deleted is what is kept: the tombstone is filled from the DELETE's own RETURNING
    const cols = ids(HISTORY_COLUMNS);
    await sql`
      WITH d AS (${duplicates(catalog, rounds, run.options)}),
      gone AS (
        DELETE FROM members."memberStatsHistory" h USING d WHERE h.id = d.id
        RETURNING h.*, d.round, d."canonicalId", d."canonicalChallengeId"
      )
      INSERT INTO platform."dedupeTombstone" ("runId", round, "canonicalId", "canonicalChallengeId", ${cols})
      SELECT ${runId}, round, "canonicalId", "canonicalChallengeId", ${cols} FROM gone`.execute(tx);

    const key = sql`"trackId" = ${trackId}::uuid AND "typeId" = ${typeId}::uuid
      AND "userId" IN (SELECT "userId" FROM platform."dedupeTombstone" WHERE "runId" = ${runId})`;
    const latest = sql`SELECT DISTINCT ON ("userId") id FROM members."memberStatsHistory" WHERE ${key} ORDER BY "userId", "eventDate" DESC, id DESC`;
    const cleared = await sql`
      WITH c AS (
        UPDATE members."memberStatsHistory" SET "mostRecent" = false
        WHERE ${key} AND "mostRecent" AND id NOT IN (${latest}) RETURNING id, "userId"
      )
      INSERT INTO platform."dedupeMostRecent" ("runId", "historyId", "userId", "mostRecent") SELECT ${runId}, id, "userId", true FROM c`.execute(
      tx,
    );
    const set = await sql`
      WITH s AS (
        UPDATE members."memberStatsHistory" SET "mostRecent" = true WHERE id IN (${latest}) AND NOT "mostRecent" RETURNING id, "userId"
      )
      INSERT INTO platform."dedupeMostRecent" ("runId", "historyId", "userId", "mostRecent") SELECT ${runId}, id, "userId", false FROM s`.execute(
      tx,
    );

    const summary = await summarize(tx, tombstoneRows(runId));
    const mostRecent = { cleared: Number(cleared.numAffectedRows ?? 0), set: Number(set.numAffectedRows ?? 0) };
    const counts: DedupeRunCounts = {
      rows: summary.rows,
      members: summary.members,
      rounds: summary.rounds,
      mostRecentCleared: mostRecent.cleared,
      mostRecentSet: mostRecent.set,
    };
    await sql`UPDATE platform."dedupeRun" SET counts = ${JSON.stringify(counts)}::jsonb WHERE "runId" = ${runId}`.execute(tx);
    return { ...summary, mostRecent, alreadyApplied: false };
  });
}
