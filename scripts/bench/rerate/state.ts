import { sql, type Kysely } from 'kysely';
import type { Catalog } from '../../../domain/catalog';
import { BackfillOptions } from '../../../domain/backfill';
import { STREAMS, STREAM_KEY } from '../../../domain/rerate';
import { stderrLog, type Stack } from '../../../lib/stack';
import { processBatch, untimed } from '../../../store/backfill/batch';
import { developReplay } from '../../../store/backfill/develop-replay';
import { keyIds, loadCatalog } from '../../../store/catalog';
import { refreshRanks } from '../../../store/derived';
import { dataWatermark } from '../../../store/parity/watermark';

/**
 * The table state the rerate bench starts each of its runs from: the unified tables as a full backfill leaves
 * them (the parity bench's state and checkpoint, shared: both need the same thing), the rerated streams' rows
 * snapshotted once and put back before every run and at the end, so every run meets the same rows and the bench
 * leaves the database as it found it (same rows, same ids, same timestamps: the data watermark does not move).
 */

const SNAPSHOT = 'bench_rerate';

/** Another bench busy in cutover_bench would spoil both. */
export async function ensureAlone(stack: Stack): Promise<void> {
  const r = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`.execute(
    stack.dbs.members,
  );
  if (r.rows[0]!.n > 0) throw new Error('another session is busy in cutover_bench (a running benchmark?); try again when it is done');
}

/** As scripts/bench/parity.ts: a full set-based backfill unless the checkpointed watermark says the tables are one. */
export async function ensureBackfilled(stack: Stack): Promise<void> {
  const key = 'bench:parity:backfilled';
  const db = stack.dbs.members;
  const watermark = async () => (await dataWatermark(db)).value;
  const r = await sql<{ value: { watermark: string } }>`SELECT value FROM platform.checkpoint WHERE key = ${key}`.execute(db);
  if (r.rows[0]?.value.watermark === (await watermark())) return;
  stderrLog('backfilling every member (one set-based pass)');
  const catalog = await loadCatalog(stack.dbs.challenges);
  const replay = developReplay(stack.dbs, catalog);
  await db.transaction().execute(async (tx) => {
    await sql`SET LOCAL work_mem = '256MB'`.execute(tx);
    await sql`TRUNCATE members."memberStats", members."memberStatsHistory", members."memberMaxRating"`.execute(tx);
    await processBatch(tx, {
      dbs: stack.dbs,
      catalog,
      scope: { range: [1, Number.MAX_SAFE_INTEGER] },
      options: BackfillOptions.parse({}),
      plan: { fullRun: true, runKey: 'bench' },
      lap: untimed,
      replay: () => replay,
    });
  });
  await refreshRanks(db);
  await sql`ANALYZE members."memberStats"; ANALYZE members."memberStatsHistory"; ANALYZE members."memberMaxRating"`.execute(db);
  await sql`INSERT INTO platform.checkpoint (key, value) VALUES (${key}, ${JSON.stringify({ watermark: await watermark() })}::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "updatedAt" = now()`.execute(db);
}

/** (trackId, typeId) of both rerated streams. */
function streamKeys(catalog: Catalog) {
  const pairs = STREAMS.map((s) => keyIds(catalog, STREAM_KEY[s]));
  return sql`("trackId", "typeId") IN (${sql.join(pairs.map(([t, y]) => sql`(${t}::uuid, ${y}::uuid)`))})`;
}

/** Copies what a rerate of both streams may change: their history and stats rows, and every memberMaxRating row. */
export async function snapshot(db: Kysely<any>, catalog: Catalog): Promise<{ history: number; stats: number; maxRating: number }> {
  const keys = streamKeys(catalog);
  await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(SNAPSHOT)}`.execute(db);
  await sql`DROP TABLE IF EXISTS ${sql.table(`${SNAPSHOT}.history`)}, ${sql.table(`${SNAPSHOT}.stats`)}, ${sql.table(`${SNAPSHOT}.max_rating`)}`.execute(
    db,
  );
  await sql`CREATE UNLOGGED TABLE ${sql.table(`${SNAPSHOT}.history`)} AS SELECT * FROM members."memberStatsHistory" WHERE ${keys}`.execute(
    db,
  );
  await sql`CREATE UNLOGGED TABLE ${sql.table(`${SNAPSHOT}.stats`)} AS SELECT * FROM members."memberStats" WHERE ${keys}`.execute(db);
  await sql`CREATE UNLOGGED TABLE ${sql.table(`${SNAPSHOT}.max_rating`)} AS SELECT * FROM members."memberMaxRating"`.execute(db);
  const n = await sql<{ history: number; stats: number; maxRating: number }>`
    SELECT (SELECT count(*)::int FROM ${sql.table(`${SNAPSHOT}.history`)}) AS history, (SELECT count(*)::int FROM ${sql.table(`${SNAPSHOT}.stats`)}) AS stats,
           (SELECT count(*)::int FROM ${sql.table(`${SNAPSHOT}.max_rating`)}) AS "maxRating"`.execute(db);
  return n.rows[0]!;
}

/** Puts the snapshot back (same ids and timestamps), then vacuums so every run meets the same physical tables. */
export async function restore(db: Kysely<any>, catalog: Catalog): Promise<void> {
  const keys = streamKeys(catalog);
  await db.transaction().execute(async (tx) => {
    await sql`DELETE FROM members."memberStatsHistory" WHERE ${keys}`.execute(tx);
    await sql`INSERT INTO members."memberStatsHistory" SELECT * FROM ${sql.table(`${SNAPSHOT}.history`)}`.execute(tx);
    await sql`DELETE FROM members."memberStats" WHERE ${keys}`.execute(tx);
    await sql`INSERT INTO members."memberStats" SELECT * FROM ${sql.table(`${SNAPSHOT}.stats`)}`.execute(tx);
    await sql`DELETE FROM members."memberMaxRating"`.execute(tx);
    await sql`INSERT INTO members."memberMaxRating" SELECT * FROM ${sql.table(`${SNAPSHOT}.max_rating`)}`.execute(tx);
  });
  await sql`VACUUM ANALYZE members."memberStatsHistory", members."memberStats", members."memberMaxRating"`.execute(db);
}

export async function dropSnapshot(db: Kysely<any>): Promise<void> {
  await sql`DROP SCHEMA IF EXISTS ${sql.id(SNAPSHOT)} CASCADE`.execute(db);
}

export interface Digest {
  history: string;
  stats: string;
  maxRating: string;
}

/**
 * What a rerate leaves in the rerated streams, content only (no ids, no timestamps of the write): history rows,
 * stats rows (ratings, ranks), memberMaxRating. Order-independent hashes of each row, summed.
 */
export async function digest(db: Kysely<any>, catalog: Catalog): Promise<Digest> {
  const keys = streamKeys(catalog);
  const one = async (q: ReturnType<typeof sql>) =>
    (
      await sql<{
        n: number;
        d: string;
      }>`SELECT count(*)::int AS n, COALESCE(sum(hashtextextended(t::text, 0)), 0)::text AS d FROM (${q}) t`.execute(db)
    ).rows[0]!;
  const [h, s, m] = await Promise.all([
    one(sql`SELECT "userId", "trackId", "typeId", "challengeId", "challengeName", "oldRating", "newRating", "oldVolatility", "newVolatility",
                   placement, percentile, "eventDate", "mostRecent", "createdBy", "updatedBy"
            FROM members."memberStatsHistory" WHERE ${keys}`),
    one(sql`SELECT "userId", "trackId", "typeId", challenges, wins, rating, volatility, "maxRating", "minRating", "globalRank", "countryRank",
                   "mostRecentEventDate", "isPrivate", "createdBy", "updatedBy"
            FROM members."memberStats" WHERE ${keys}`),
    one(sql`SELECT "userId", rating, track, "subTrack", "ratingColor" FROM members."memberMaxRating"`),
  ]);
  const fmt = (x: { n: number; d: string }) => `${x.n}:${BigInt.asUintN(64, BigInt(x.d)).toString(16).padStart(16, '0')}`;
  return { history: fmt(h), stats: fmt(s), maxRating: fmt(m) };
}

export const sameDigest = (a: Digest, b: Digest) => a.history === b.history && a.stats === b.stats && a.maxRating === b.maxRating;
export const showDigest = (d: Digest) => `history ${d.history}  stats ${d.stats}  maxRating ${d.maxRating}`;
