import { sql, type Kysely } from 'kysely';
import type { HistoryRow } from '../../domain/rating/replay';
import type { Catalog } from '../../domain/catalog';
import type { PreviewDiff, PromoteOutcome, RowChange, SourcePrint } from '../../domain/rerate-preview';
import { STREAM_KEY, type ReratePlan, type Stream } from '../../domain/rerate';
import { keyIds } from '../catalog';
import type { StreamChallenge } from '../rated-events';
import { historyMatch, ratedFields, rowsTable } from './write';

/** Phase D's preview runs (migrations/0007): shadow rows, the source they came from, their diff and fate. */

export interface RerateRun {
  runKey: string;
  stream: Stream;
  plan: ReratePlan;
  status: 'running' | 'done' | 'previewed' | 'promoted' | 'discarded';
  preview: boolean;
  source: SourcePrint | null;
  diff: PreviewDiff | null;
  outcome: PromoteOutcome | null;
}

export async function rerateRun(db: Kysely<any>, runKey: string, opts: { forUpdate?: boolean } = {}): Promise<RerateRun | undefined> {
  const r = await sql<RerateRun>`
    SELECT "runKey", stream, plan, status, preview, source, diff, outcome FROM platform."rerateRun"
    WHERE "runKey" = ${runKey} ${opts.forUpdate ? sql`FOR UPDATE` : sql``}`.execute(db);
  return r.rows[0];
}

/** A preview run's source fingerprints, taken from the stream its replay was computed from. */
export async function recordSource(db: Kysely<any>, runKey: string, source: SourcePrint): Promise<void> {
  await sql`UPDATE platform."rerateRun" SET preview = true, source = ${JSON.stringify(source)}::jsonb WHERE "runKey" = ${runKey}`.execute(
    db,
  );
}

/** A preview chunk's rows, into the shadow table (a retried chunk inserts nothing twice). */
export async function writePreviewRows(
  tx: Kysely<any>,
  runKey: string,
  stream: Stream,
  rows: readonly HistoryRow[],
  challenges: ReadonlyMap<string, StreamChallenge>,
): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await sql`
    INSERT INTO platform."reratePreviewRow" ("runKey", "userId", "challengeId", "legacyId", "challengeName", "oldRating", "newRating",
      "oldVolatility", "newVolatility", placement, percentile, "eventDate")
    SELECT ${runKey}, t.* FROM (${rowsTable(stream, rows, challenges)}) t
    ON CONFLICT ("runKey", "userId", "challengeId") DO NOTHING`.execute(tx);
  return Number(r.numAffectedRows ?? 0);
}

/**
 * What promoting the preview would write, against the tables as they are: shadow rows whose stored row differs
 * (or that have none and belong to a member), and how many rated rows it would leave as they are.
 */
export async function previewChanges(
  db: Kysely<any>,
  catalog: Catalog,
  stream: Stream,
  runKey: string,
): Promise<{ rows: number; unchangedRated: number; changes: RowChange[] }> {
  const [trackId, typeId] = keyIds(catalog, STREAM_KEY[stream]);
  const joined = sql`
    FROM platform."reratePreviewRow" r LEFT JOIN members."memberStatsHistory" h ON ${historyMatch(trackId, typeId)}
    WHERE r."runKey" = ${runKey}`;
  const counts = await sql<{ rows: number; unchangedRated: number }>`
    SELECT (SELECT count(*)::int FROM platform."reratePreviewRow" WHERE "runKey" = ${runKey}) AS rows,
           count(*) FILTER (WHERE h.id IS NOT NULL AND h."newRating" IS NOT NULL AND ${ratedFields('h')} IS NOT DISTINCT FROM ${ratedFields('r')})::int
             AS "unchangedRated"
    ${joined}`.execute(db);
  const changes = await sql<{
    userId: string;
    challengeId: string;
    challengeName: string | null;
    from: number | null;
    to: number;
    fresh: boolean;
  }>`
    SELECT r."userId"::text AS "userId", r."challengeId", r."challengeName", h."newRating" AS from, r."newRating" AS to, h.id IS NULL AS fresh
    ${joined}
      AND (h.id IS NULL AND EXISTS (SELECT 1 FROM members."member" m WHERE m."userId" = r."userId")
           OR h.id IS NOT NULL AND ${ratedFields('h')} IS DISTINCT FROM ${ratedFields('r')})`.execute(db);
  return { ...counts.rows[0]!, changes: changes.rows.map((c) => ({ ...c, userId: Number(c.userId) })) };
}

export async function finishPreview(db: Kysely<any>, runKey: string, diff: PreviewDiff): Promise<void> {
  await sql`
    UPDATE platform."rerateRun" SET status = 'previewed', diff = ${JSON.stringify(diff)}::jsonb, "finishedAt" = now()
    WHERE "runKey" = ${runKey} AND status = 'running'`.execute(db);
}

/** The preview's rows as the temp table rerate_rows (store/rerate/write.ts applyStagedRows applies it). */
export async function stagePreviewRows(tx: Kysely<any>, runKey: string): Promise<number[]> {
  await sql`
    CREATE TEMP TABLE rerate_rows ON COMMIT DROP AS
    SELECT "userId", "challengeId", "legacyId", "challengeName", "oldRating", "newRating", "oldVolatility", "newVolatility",
           placement, percentile, "eventDate"
    FROM platform."reratePreviewRow" WHERE "runKey" = ${runKey}`.execute(tx);
  const r = await sql<{ userId: string }>`SELECT DISTINCT "userId" FROM rerate_rows ORDER BY 1`.execute(tx);
  return r.rows.map((x) => Number(x.userId));
}

/** Promoted or discarded: the shadow rows go, the outcome stays on record. */
export async function closePreview(
  tx: Kysely<any>,
  runKey: string,
  status: 'promoted' | 'discarded',
  outcome?: PromoteOutcome,
): Promise<void> {
  await sql`DELETE FROM platform."reratePreviewRow" WHERE "runKey" = ${runKey}`.execute(tx);
  await sql`
    UPDATE platform."rerateRun" SET status = ${status}, outcome = ${outcome ? JSON.stringify(outcome) : null}::jsonb
    WHERE "runKey" = ${runKey}`.execute(tx);
}

/** The preview runs an operator can still act on, newest first. */
export async function openPreviews(
  db: Kysely<any>,
): Promise<Array<{ runKey: string; stream: Stream; startedAt: Date; diff: PreviewDiff | null }>> {
  const r = await sql<{ runKey: string; stream: Stream; startedAt: Date; diff: PreviewDiff | null }>`
    SELECT "runKey", stream, "startedAt", diff FROM platform."rerateRun" WHERE preview AND status = 'previewed' ORDER BY "startedAt" DESC`.execute(
    db,
  );
  return r.rows;
}
