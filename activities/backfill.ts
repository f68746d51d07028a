import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { sql, type Kysely } from 'kysely';
import type { BackfillOptions, BatchResult, Timings, UserRange } from '../domain/backfill';
import { zeroTimings } from '../domain/backfill';
import { REVIEW_SCHEMA_MISSING } from '../domain/preflight';
import { inTransaction, processBatch, type Scope } from './backfill-batch';
import { assembleCsv } from './backfill-csv';
import { refreshRanks } from './sql/derived';
import { loadCatalog, removeOrphans, type Catalog } from './sql/backfill';
import { developReplay, type DevelopReplay } from './sql/develop-replay';
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
  scope: Scope;
  options: BackfillOptions;
  plan: BatchPlan;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ensures the review database exposes challengeResult; the run cannot do anything right without it. */
async function requireChallengeResult(reviews: Kysely<any>): Promise<void> {
  const r = await sql<{ t: string | null }>`SELECT to_regclass('reviews."challengeResult"')::text AS t`.execute(reviews);
  if (!r.rows[0]?.t) {
    throw ApplicationFailure.nonRetryable(REVIEW_SCHEMA_MISSING, 'ReviewSchemaMissing');
  }
}

export function backfillActivities({ dbs, config }: ActivityDeps) {
  let catalog: Promise<Catalog> | undefined;
  const getCatalog = () => (catalog ??= loadCatalog(dbs.challenges).catch((e) => ((catalog = undefined), Promise.reject(e))));
  // One Development replay per run and process: every batch of the run writes its members' slice of it.
  const replays = new Map<string, Promise<DevelopReplay>>();
  const getReplay = (runKey: string): Promise<DevelopReplay> => {
    let r = replays.get(runKey);
    if (!r) {
      if (replays.size >= 2) replays.delete(replays.keys().next().value!);
      r = getCatalog().then((cat) => developReplay(dbs, cat, config.ratingMissingMetadata));
      r.catch(() => replays.delete(runKey));
      replays.set(runKey, r);
    }
    return r;
  };

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
     * One batch in one transaction (activities/backfill-batch.ts): a crash anywhere rolls it back and the retry
     * redoes it. --csv-only computes the same rows into part files and rolls back, touching nothing.
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
        const r = await inTransaction(dbs.members, input.options.csvOnly, (tx) =>
          processBatch(tx, { dbs, catalog: cat, scope: input.scope, options: input.options, plan: input.plan, lap, replay: () => getReplay(input.plan.runKey) }),
        );
        return { ...r, timings, ms: performance.now() - started };
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * After all batches: on a run over every member, unified rows of members no longer in `member` go (they would
     * still count in ranks); then ranks for the partitions the run touched (relative, so once at the end); or the
     * CSV assembly of a dry run.
     */
    async backfillFinalize(input: { options: BackfillOptions; plan: BatchPlan }): Promise<{ ranksChanged: number; orphansRemoved: number; csvFiles: string[] }> {
      const { options, plan } = input;
      if (options.csvOnly) return { ranksChanged: 0, orphansRemoved: 0, csvFiles: await assembleCsv(options.csvPath!, plan.runKey) };
      const everyMember = plan.fullRun && options.userIds === undefined && options.limit === undefined;
      const orphansRemoved = everyMember ? await removeOrphans(dbs.members) : 0;
      const partitions = plan.trackId
        ? (await sql<{ trackId: string; typeId: string }>`
            SELECT DISTINCT "trackId"::text AS "trackId", "typeId"::text AS "typeId" FROM members."memberStats" WHERE "trackId" = ${plan.trackId}::uuid`.execute(dbs.members)).rows
        : undefined;
      return { ranksChanged: await refreshRanks(dbs.members, partitions), orphansRemoved, csvFiles: [] };
    },
  };
}

