import { sql, type Kysely } from 'kysely';
import { DedupeRefused, type DedupeRunCounts, type DedupeUndoResult } from '../../domain/dedupe';
import { ids } from '../sql';
import { findDedupeRun, HISTORY_COLUMNS, lockDedupe } from './runs';

/**
 * One transaction: an applied run's removed rows back with their own ids and every column as it was, and the
 * mostRecent flags it moved back (cleared before set, around the restore). Refused, with nothing changed, when it
 * could not be exact: a later applied run touched the same members (undo that one first), or a removed row came
 * back since (a re-backfill). A run already undone is not undone again.
 */
export async function undoDedupe(db: Kysely<any>, runId: string): Promise<DedupeUndoResult> {
  return db.transaction().execute(async (tx) => {
    await lockDedupe(tx);
    const run = await findDedupeRun(tx, runId, true);
    if (!run)
      throw new DedupeRefused(
        'unknown-run',
        `--undo ${runId}: no applied dedupe run has that id (platform."dedupeRun"; a dry run writes nothing to undo); use the run id \`dedupe --apply\` printed`,
      );
    const counts = run.counts as unknown as DedupeRunCounts;
    if (run.status === 'undone')
      return {
        runId,
        restored: counts.restored ?? 0,
        mostRecentRestored: counts.mostRecentRestored ?? 0,
        alreadyUndone: true,
        undoneAt: run.undoneAt!.toISOString(),
      };

    const later = await sql<{ runId: string }>`
      SELECT r."runId" FROM platform."dedupeRun" r
      WHERE r.status = 'applied' AND r."runId" <> ${runId} AND r."appliedAt" > ${run.appliedAt}
        AND EXISTS (SELECT 1 FROM platform."dedupeTombstone" t
                    WHERE t."runId" = r."runId" AND t."userId" IN (SELECT "userId" FROM platform."dedupeTombstone" WHERE "runId" = ${runId}))
      ORDER BY r."appliedAt" DESC LIMIT 1`.execute(tx);
    if (later.rows[0])
      throw new DedupeRefused(
        'out-of-order',
        `--undo ${runId}: the later dedupe run ${later.rows[0].runId} removed rows of the same members; undo it first (\`dedupe --undo ${later.rows[0].runId}\`)`,
      );
    const back = await sql<{ userId: number; challengeId: string; n: number }>`
      SELECT t."userId", t."challengeId", count(*) OVER ()::int AS n FROM platform."dedupeTombstone" t
      WHERE t."runId" = ${runId}
        AND (EXISTS (SELECT 1 FROM members."memberStatsHistory" h WHERE h.id = t.id)
          OR EXISTS (SELECT 1 FROM members."memberStatsHistory" h
                     WHERE h."userId" = t."userId" AND h."trackId" = t."trackId" AND h."typeId" = t."typeId" AND h."challengeId" = t."challengeId"))
      ORDER BY t."userId", t.id LIMIT 1`.execute(tx);
    if (back.rows[0])
      throw new DedupeRefused(
        'conflict',
        `--undo ${runId}: ${back.rows[0].n} of the rows it removed are in the history again (e.g. member ${back.rows[0].userId}, ` +
          `challenge ${back.rows[0].challengeId}; a backfill since?): nothing was restored. Remove those rows (dedupe again) before undoing`,
      );

    const cols = ids(HISTORY_COLUMNS);
    const flags = sql`platform."dedupeMostRecent" f WHERE f."runId" = ${runId} AND f."historyId" = h.id`;
    try {
      const unset = await sql`
        UPDATE members."memberStatsHistory" h SET "mostRecent" = false FROM ${flags} AND NOT f."mostRecent" AND h."mostRecent"`.execute(tx);
      const restored = await sql`
        INSERT INTO members."memberStatsHistory" (${cols}) SELECT ${cols} FROM platform."dedupeTombstone" WHERE "runId" = ${runId}`.execute(
        tx,
      );
      const reset = await sql`
        UPDATE members."memberStatsHistory" h SET "mostRecent" = true FROM ${flags} AND f."mostRecent" AND NOT h."mostRecent"`.execute(tx);
      const done = {
        restored: Number(restored.numAffectedRows ?? 0),
        mostRecentRestored: Number(unset.numAffectedRows ?? 0) + Number(reset.numAffectedRows ?? 0),
      };
      const r = await sql<{ undoneAt: Date }>`
        UPDATE platform."dedupeRun" SET status = 'undone', "undoneAt" = clock_timestamp(), counts = counts || ${JSON.stringify(done)}::jsonb
        WHERE "runId" = ${runId} RETURNING "undoneAt"`.execute(tx);
      return { runId, ...done, alreadyUndone: false, undoneAt: r.rows[0]!.undoneAt.toISOString() };
    } catch (e) {
      // the one mostRecent row per member and key is held by a row flagged since the run (a rerate's finalize)
      if ((e as { code?: string }).code === '23505')
        throw new DedupeRefused(
          'conflict',
          `--undo ${runId}: the mostRecent flags of its members moved since it was applied, so they cannot be put back exactly ` +
            `(${(e as Error).message}); nothing was restored`,
        );
      throw e;
    }
  });
}
