import { sql, type Kysely } from 'kysely';
import { RERATE_CREATED_BY } from '../../domain/rerate';
import { dedupedKeys } from '../dedupe/runs';
import { batchRows, ofBatch } from '../sql';

/**
 * Phase A after phase D: a backfill re-derives rows from the legacy sources, but what an operator's rerate (D)
 * recomputed and what a dedupe (D5) removed are decisions, not drift — a re-backfill (a rollback's repair, a spot
 * fix, a refresh) must not silently undo them. Applied to the batch's staged rows before they are written.
 */

const SIGNATURES = Object.values(RERATE_CREATED_BY);

/**
 * A stored history row (alias `x`) a phase D rerate wrote or rewrote. Never null: "updatedBy" mostly is, and a null
 * here made NOT (kept) null too, so a full run never removed a stale history row (a challenge no longer completed).
 */
export const reratedRow = (x: string) =>
  sql`(${sql.ref(`${x}.createdBy`)} = ANY(${SIGNATURES}::text[]) OR COALESCE(${sql.ref(`${x}.updatedBy`)} = ANY(${SIGNATURES}::text[]), false))`;

export async function keepRerated(tx: Kysely<any>, opts: { history: boolean }): Promise<void> {
  if (opts.history) {
    // the rerate's rows stay as it wrote them; removed duplicates stay removed
    await sql`
      DELETE FROM batch_history s USING ${batchRows('members.memberStatsHistory')} x
      WHERE x."userId" = s."userId" AND x."trackId" = s."trackId" AND x."typeId" = s."typeId" AND x."challengeId" = s."challengeId"
        AND ${reratedRow('x')}`.execute(tx);
    await sql`
      DELETE FROM batch_history s USING (${dedupedKeys(ofBatch)}) d
      WHERE d."userId" = s."userId" AND d."trackId" = s."trackId" AND d."typeId" = s."typeId" AND d."challengeId" = s."challengeId"`.execute(
      tx,
    );
  }
  // the stats row of a rerated key keeps the rating the rerate derived from its history
  await sql`
    UPDATE batch_stats s SET rating = u.rating, volatility = u.volatility, "maxRating" = u."maxRating", "minRating" = u."minRating"
    FROM ${batchRows('members.memberStats')} u
    WHERE u."userId" = s."userId" AND u."trackId" = s."trackId" AND u."typeId" = s."typeId"
      AND EXISTS (SELECT 1 FROM ${batchRows('members.memberStatsHistory')} x
                  WHERE x."userId" = s."userId" AND x."trackId" = s."trackId" AND x."typeId" = s."typeId" AND ${reratedRow('x')})`.execute(
    tx,
  );
}
