import { sql, type Kysely, type RawBuilder } from 'kysely';
import { DedupeRefused } from '../../domain/dedupe';

/** Dedupe runs as platform."dedupeRun" and its tombstones record them (migrations/0008). */

/** Every column of members."memberStatsHistory": what a tombstone keeps and an undo puts back. */
export const HISTORY_COLUMNS = [
  'id',
  'userId',
  'trackId',
  'typeId',
  'challengeId',
  'challengeName',
  'oldRating',
  'newRating',
  'oldVolatility',
  'newVolatility',
  'globalRank',
  'countryRank',
  'placement',
  'percentile',
  'eventDate',
  'mostRecent',
  'createdBy',
  'createdAt',
  'updatedAt',
  'updatedBy',
] as const;

export interface DedupeRunRow {
  runId: string;
  status: 'applied' | 'undone';
  options: unknown;
  counts: Record<string, number>;
  startedAt: Date;
  appliedAt: Date;
  undoneAt: Date | null;
}

export async function findDedupeRun(db: Kysely<any>, runId: string, forUpdate = false): Promise<DedupeRunRow | undefined> {
  const r = await sql<DedupeRunRow>`
    SELECT "runId", status, options, counts, "startedAt", "appliedAt", "undoneAt" FROM platform."dedupeRun"
    WHERE "runId" = ${runId} ${forUpdate ? sql`FOR UPDATE` : sql``}`.execute(db);
  return r.rows[0];
}

/** Applies and undos one at a time, whichever run they belong to: each reads what the one before it left. */
export async function lockDedupe(tx: Kysely<any>): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('cutover:dedupe'))`.execute(tx);
}

/**
 * A column added to the history since 0008 would be lost by a tombstone, so an undo would not restore the row as
 * it was: refuse before removing anything.
 */
export async function checkTombstoneColumns(tx: Kysely<any>): Promise<void> {
  const r = await sql<{ name: string }>`
    SELECT column_name AS name FROM information_schema.columns
    WHERE table_schema = 'members' AND table_name = 'memberStatsHistory'`.execute(tx);
  const kept = new Set<string>(HISTORY_COLUMNS);
  const lost = r.rows.map((c) => c.name).filter((c) => !kept.has(c));
  if (lost.length > 0)
    throw new DedupeRefused(
      'schema',
      `members."memberStatsHistory" has columns a dedupe tombstone does not keep (${lost.join(', ')}): add them to ` +
        `platform."dedupeTombstone" in a migration and to HISTORY_COLUMNS (store/dedupe/runs.ts) before applying a dedupe`,
    );
}

/** A run's tombstones shaped like `duplicates` (store/dedupe/find.ts), for its report. */
export const tombstoneRows = (runId: string): RawBuilder<unknown> => sql`
  SELECT id, "userId", round, "challengeId", "challengeName", "eventDate", "newRating", "mostRecent", "canonicalId", "canonicalChallengeId"
  FROM platform."dedupeTombstone" WHERE "runId" = ${runId}`;

/** History keys that applied (not undone) dedupe runs removed as duplicates of a canonical row that still stands. */
export const dedupedKeys = (ofMembers?: (col: RawBuilder<unknown>) => RawBuilder<unknown>): RawBuilder<unknown> => sql`
  SELECT DISTINCT t."userId", t."trackId", t."typeId", t."challengeId"
  FROM platform."dedupeTombstone" t JOIN platform."dedupeRun" r ON r."runId" = t."runId" AND r.status = 'applied'
  WHERE ${ofMembers ? ofMembers(sql`t."userId"`) : sql`true`} AND EXISTS (SELECT 1 FROM members."memberStatsHistory" c
                WHERE c."userId" = t."userId" AND c."trackId" = t."trackId" AND c."typeId" = t."typeId" AND c."challengeId" = t."canonicalChallengeId")`;

/**
 * Deduplicated keys that have not come back since: for parity, present in unified under their canonical row (a
 * backfill never brings them back: store/backfill/keep-rerated.ts).
 */
export const dedupedHistory = (): RawBuilder<unknown> => sql`
  SELECT d.* FROM (${dedupedKeys()}) d
  WHERE NOT EXISTS (SELECT 1 FROM members."memberStatsHistory" h
                    WHERE h."userId" = d."userId" AND h."trackId" = d."trackId" AND h."typeId" = d."typeId" AND h."challengeId" = d."challengeId")`;
