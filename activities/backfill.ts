import { mkdir, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sql, type Kysely } from 'kysely';
import { stringify } from 'csv-stringify/sync';
import type { BackfillOptions, BatchResult, HeavyMember, Timings, UserRange } from '../domain/backfill';
import { zeroTimings } from '../domain/backfill';
import { refreshMaxRating, refreshRanks } from './sql/derived';
import {
  DIRECT_SOURCES,
  historyRowsQuery,
  loadBatchMembers,
  loadCatalog,
  statsRowsQuery,
  writeHistory,
  writeStats,
  type BatchSql,
  type Catalog,
} from './sql/backfill';
import { preloadSources } from './sql/preload';
import type { Databases } from '../lib/db';
import type { ActivityDeps } from './deps';

/** What prepare resolves once for a run; batches get the part they need. */
export interface BatchPlan {
  trackId?: string;
  fullRun: boolean;
  /** identifies the run for CSV part files */
  runKey: string;
}

export interface BackfillPlan extends BatchPlan {
  trackName?: string;
  ranges: UserRange[];
  userIds: number[];
  membersTotal: number;
}

export interface BatchInput {
  scope: { range: UserRange } | { userIds: number[] };
  options: BackfillOptions;
  plan: BatchPlan;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ensures the review database exposes challengeResult; the run cannot do anything right without it. */
async function requireChallengeResult(reviews: Kysely<any>): Promise<void> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('reviews."challengeResult"')::text AS t`.execute(reviews);
  if (!r.rows[0]?.t) {
    throw ApplicationFailure.nonRetryable(
      'The review database has no reviews."challengeResult" table (REVIEW_DB_URL). Deploy the review migrations to that database, or fix REVIEW_DB_URL to point at the review database.',
      'ReviewSchemaMissing',
    );
  }
}

function heaviest(perMember: Map<number, number>, n = 5): HeavyMember[] {
  return [...perMember.entries()]
    .map(([userId, rows]) => ({ userId, rows }))
    .sort((a, b) => b.rows - a.rows || a.userId - b.userId)
    .slice(0, n);
}

export function backfillActivities({ dbs }: ActivityDeps) {
  let catalog: Promise<Catalog> | undefined;
  const getCatalog = () => (catalog ??= loadCatalog(dbs.challenges).catch((e) => ((catalog = undefined), Promise.reject(e))));

  return {
    /** Resolves the options (track, member scope) and cuts the member set into keyset ranges. Writes nothing. */
    async backfillPrepare(options: BackfillOptions): Promise<BackfillPlan> {
      await requireChallengeResult(dbs.reviews);
      const cat = await getCatalog();
      let trackId: string | undefined;
      let trackName: string | undefined;
      if (options.track) {
        const t = cat.tracks.find((x) => (UUID.test(options.track!) ? x.id === options.track!.toLowerCase() : x.track === options.track!.toUpperCase()));
        if (!t) {
          throw ApplicationFailure.nonRetryable(
            `--track-id ${options.track} is neither a ChallengeTrack id nor a track name; use one of ${cat.tracks.map((x) => `${x.track} (${x.id})`).join(', ')}`,
            'InvalidInput',
          );
        }
        trackId = t.id;
        trackName = t.track;
      }
      const info = Context.current().info;
      const runKey = info.workflowExecution?.runId ?? info.activityId;
      const fullRun = trackId === undefined;
      if (options.userIds) {
        const userIds = [...new Set(options.userIds)].sort((a, b) => a - b).slice(0, options.limit ?? Infinity);
        return { trackId, trackName, fullRun, runKey, ranges: [], userIds, membersTotal: userIds.length };
      }
      // Every batchSize-th member starts a range; the first range starts at 1 and the last is open-ended so ids
      // referenced only by legacy rows (missing members) fall in some range and get reported.
      const limit = options.limit ?? null;
      const r = await sql<{ userId: number; total: number }>`
        WITH m AS (
          SELECT "userId", row_number() OVER (ORDER BY "userId") AS rn FROM members."member"
          ${limit === null ? sql`` : sql`ORDER BY "userId" LIMIT ${limit}`}
        )
        SELECT "userId", (SELECT count(*) FROM m)::int AS total FROM m WHERE (rn - 1) % ${options.batchSize} = 0 ORDER BY "userId"`.execute(dbs.members);
      const starts = r.rows.map((x) => x.userId);
      const total = r.rows[0]?.total ?? 0;
      let lastId = Number.MAX_SAFE_INTEGER;
      if (limit !== null && total > 0) {
        const last = await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY "userId" OFFSET ${total - 1} LIMIT 1`.execute(dbs.members);
        lastId = last.rows[0]!.userId;
      }
      const ranges: UserRange[] = starts.map((s, i) => [i === 0 ? 1 : s, i + 1 < starts.length ? starts[i + 1]! - 1 : lastId]);
      return { trackId, trackName, fullRun, runKey, ranges, userIds: [], membersTotal: total };
    },

    /**
     * One batch in one transaction: members → stats upsert → history upsert + mostRecent reset → derived
     * (memberMaxRating). A crash anywhere rolls the batch back; the retry redoes it. --csv-only computes the same
     * rows and writes them to part files instead, touching nothing in the database.
     */
    async backfillBatch(input: BatchInput): Promise<BatchResult> {
      const started = performance.now();
      const cat = await getCatalog();
      const timings: Timings = zeroTimings();
      const ctx = Context.current();
      let step: keyof Timings = 'preload';
      // a timer heartbeat: long SQL steps never look like a dead worker, and a dead worker is noticed quickly
      const beat = setInterval(() => ctx.heartbeat({ scope: input.scope, step }), 1000);
      const lap = async <T>(name: keyof Timings, fn: () => Promise<T>): Promise<T> => {
        const s = performance.now();
        step = name;
        ctx.heartbeat({ scope: input.scope, step });
        try {
          return await fn();
        } finally {
          timings[name] += performance.now() - s;
        }
      };
      try {
        const r = await inTransaction(dbs.members, input.options.csvOnly, (tx) => runBatch(tx, dbs, cat, input, lap));
        return { ...r, timings, ms: performance.now() - started };
      } finally {
        clearInterval(beat);
      }
    },

    /** After all batches: ranks for the partitions the run touched (relative, so once at the end); CSV assembly. */
    async backfillFinalize(input: { options: BackfillOptions; plan: BatchPlan }): Promise<{ ranksChanged: number; csvFiles: string[] }> {
      const { options, plan } = input;
      if (options.csvOnly) return { ranksChanged: 0, csvFiles: await assembleCsv(options.csvPath!, plan.runKey) };
      const partitions = plan.trackId
        ? (await sql<{ trackId: string; typeId: string }>`
            SELECT DISTINCT "trackId"::text AS "trackId", "typeId"::text AS "typeId" FROM members."memberStats" WHERE "trackId" = ${plan.trackId}::uuid`.execute(dbs.members)).rows
        : undefined;
      return { ranksChanged: await refreshRanks(dbs.members, partitions), csvFiles: [] };
    },
  };
}

const DRY_RUN = Symbol('dry run: roll back');

/** Runs fn in a transaction; a dry run always rolls back, so nothing it did (temp tables included) can stay. */
async function inTransaction<T>(db: Kysely<any>, dryRun: boolean, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
  if (!dryRun) return db.transaction().execute(fn);
  let out: T | undefined;
  try {
    await db.transaction().execute(async (tx) => {
      out = await fn(tx);
      throw DRY_RUN;
    });
  } catch (e) {
    if (e !== DRY_RUN) throw e;
  }
  return out as T;
}

type Lap = <T>(name: keyof Timings, fn: () => Promise<T>) => Promise<T>;

async function runBatch(tx: Kysely<any>, dbs: Databases, cat: Catalog, input: BatchInput, lap: Lap): Promise<Omit<BatchResult, 'timings' | 'ms'>> {
  const { options, plan } = input;
  const batch = await lap('preload', async () => {
    const m = await loadBatchMembers(tx, input.scope);
    const src = dbs.sameDatabase ? DIRECT_SOURCES : await preloadSources(tx, dbs);
    return { ...m, src };
  });
  const b: BatchSql = { catalog: cat, src: batch.src, trackId: plan.trackId, fullRun: plan.fullRun };
  let statsRows = 0;
  let historyRows = 0;
  let staleRemoved = 0;
  const weight = new Map<number, number>();
  const weigh = (m: Map<number, number>) => m.forEach((n, id) => weight.set(id, (weight.get(id) ?? 0) + n));

  if (options.csvOnly) {
    const stats = await lap('aggregate', () => sql<Record<string, unknown>>`${statsRowsQuery(b)} ORDER BY 1, 2, 3`.execute(tx));
    const history = options.skipHistory
      ? { rows: [] }
      : await lap('aggregate', () => sql<Record<string, unknown>>`${historyRowsQuery(b)} ORDER BY 1, 2, 3, 4`.execute(tx));
    await lap('statsWrite', () => writeCsvPart(options.csvPath!, plan.runKey, input.scope, 'memberStats', stats.rows));
    await lap('historyWrite', () => writeCsvPart(options.csvPath!, plan.runKey, input.scope, 'memberStatsHistory', history.rows));
    statsRows = stats.rows.length;
    historyRows = history.rows.length;
  } else {
    const s = await lap('statsWrite', () => writeStats(tx, b));
    statsRows = s.written;
    staleRemoved += s.stale;
    weigh(s.perMember);
    if (!options.skipHistory) {
      const h = await lap('historyWrite', () => writeHistory(tx, b));
      historyRows = h.written;
      staleRemoved += h.stale;
      weigh(h.perMember);
    }
    await lap('derived', async () => {
      const ids = await sql<{ userId: number }>`SELECT "userId" FROM batch_members`.execute(tx);
      await refreshMaxRating(tx, { tracks: cat.tracks.map((x) => ({ id: x.id, name: x.track })), types: cat.types }, { userIds: ids.rows.map((x) => x.userId) });
    });
  }
  const range: UserRange = 'range' in input.scope ? input.scope.range : [input.scope.userIds[0] ?? 0, input.scope.userIds.at(-1) ?? 0];
  return {
    range,
    members: batch.members,
    missingMembers: batch.missing.length,
    missingSample: batch.missing.slice(0, 10),
    statsRows,
    historyRows,
    staleRemoved,
    rerated: 0,
    heaviest: heaviest(weight),
  };
}

// --- CSV dry run: one part file per batch (a retry overwrites its own), assembled in range order at the end ---

const partName = (scope: BatchInput['scope']) =>
  'range' in scope ? `${String(scope.range[0]).padStart(16, '0')}` : `u${String(scope.userIds[0] ?? 0).padStart(15, '0')}`;

async function writeCsvPart(dir: string, runKey: string, scope: BatchInput['scope'], table: string, rows: Record<string, unknown>[]): Promise<void> {
  const parts = join(resolve(dir), `.parts-${runKey}`, table);
  await mkdir(parts, { recursive: true });
  const body = stringify(rows, { cast: { date: (d) => d.toISOString(), boolean: (v) => String(v) } });
  await writeFile(join(parts, `${partName(scope)}.csv`), body);
}

async function assembleCsv(dir: string, runKey: string): Promise<string[]> {
  const root = join(resolve(dir), `.parts-${runKey}`);
  const out: string[] = [];
  for (const [table, header] of [
    ['memberStats', STATS_HEADER],
    ['memberStatsHistory', HISTORY_HEADER],
  ] as const) {
    const file = join(resolve(dir), `${table}.csv`);
    await writeFile(file, `${header.join(',')}\n`);
    const parts = (await readdir(join(root, table)).catch(() => [] as string[])).sort();
    for (const p of parts) await appendFile(file, await readFile(join(root, table, p)));
    out.push(file);
  }
  await rm(root, { recursive: true, force: true });
  return out;
}

const STATS_HEADER = [
  'userId', 'trackId', 'typeId', 'challenges', 'wins', 'rating', 'volatility', 'maxRating', 'minRating', 'globalRank', 'countryRank',
  'schoolRank', 'percentile', 'avgRank', 'avgNumSubmissions', 'bestRank', 'topFiveFinishes', 'topTenFinishes', 'mostRecentEventDate',
  'mostRecentSubmission',
];
const HISTORY_HEADER = ['userId', 'trackId', 'typeId', 'challengeId', 'challengeName', 'oldRating', 'newRating', 'placement', 'percentile', 'eventDate', 'createdBy'];
