import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Scope } from '../../domain/backfill';

/** Which members a batch covers: those present in `member`; ids referenced elsewhere without a member row are reported. */

/** Fills pg_temp.batch_members (userId of members present in `member`) for a scope; returns missing ids too. */
export async function loadBatchMembers(db: Kysely<any>, scope: Scope, sameDb = true): Promise<{ members: number; missing: number[] }> {
  await sql`CREATE TEMP TABLE IF NOT EXISTS batch_members ("userId" BIGINT PRIMARY KEY) ON COMMIT DROP`.execute(db);
  const inScope = (col: RawBuilder<unknown>) =>
    'range' in scope
      ? sql`${col} BETWEEN ${scope.range[0]}::bigint AND ${scope.range[1]}::bigint`
      : sql`${col} = ANY(${scope.userIds}::bigint[])`;
  // one writer per member at a time: a refresh of members a running batch holds waits for it and then derives from
  // sources that include what it waited for, and a batch never writes what it read before a refresh committed (a
  // lost update under live traffic). Row locks, taken in id order (no deadlock between batches and refreshes), held
  // to commit; FOR NO KEY UPDATE leaves foreign-key checks and readers alone.
  const inserted = await sql`
    INSERT INTO batch_members
    SELECT "userId" FROM members."member" WHERE ${inScope(sql`"userId"`)} ORDER BY "userId" FOR NO KEY UPDATE`.execute(db);
  // ids asked for, or referenced by legacy stats or ChallengeWinner, without a member row: skipped, reported
  // (challengeResult's TEXT ids cannot be range-scanned by number; its members show up through the others)
  const requested = 'userIds' in scope ? scope.userIds : [];
  const missing = await sql<{ userId: number }>`
    SELECT DISTINCT x."userId" FROM (
      SELECT unnest(${requested}::bigint[]) AS "userId"
      UNION ALL SELECT "userId" FROM challenges."ChallengeWinner" WHERE ${sameDb ? inScope(sql`"userId"`) : sql`false`}
      UNION ALL SELECT "userId" FROM members."memberDevelopStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberDesignStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberDataScienceStats" WHERE ${inScope(sql`"userId"`)}
      UNION ALL SELECT "userId" FROM members."memberHistoryStats" WHERE ${inScope(sql`"userId"`)}
    ) x
    WHERE NOT EXISTS (SELECT 1 FROM batch_members b WHERE b."userId" = x."userId")
    ORDER BY 1`.execute(db);
  await sql`ANALYZE batch_members`.execute(db);
  return { members: Number(inserted.numAffectedRows ?? 0), missing: missing.rows.map((r) => r.userId) };
}

/** Unified rows of members that are no longer in `member` (deleted since an earlier backfill). */
export async function removeOrphans(db: Kysely<any>): Promise<number> {
  let n = 0;
  for (const table of ['memberStats', 'memberStatsHistory', 'memberMaxRating']) {
    const r = await sql`
      DELETE FROM ${sql.table(`members.${table}`)} x
      WHERE NOT EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = x."userId")`.execute(db);
    n += Number(r.numAffectedRows ?? 0);
  }
  return n;
}
