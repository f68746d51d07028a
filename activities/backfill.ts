import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  resumeKeyOf,
  zeroTimings,
  type BackfillOptions,
  type BackfillPlan,
  type BatchInput,
  type BatchPlan,
  type BatchResult,
  type FinalizeResult,
  type Timings,
  type UserRange,
} from '../domain/backfill';
import { resolveTrack, resolveType, unknownTrackMessage, unknownTypeMessage, type Catalog } from '../domain/catalog';
import { DEFAULT_BATCH_ATTEMPTS, Failure, isTransient } from '../domain/failures';
import { DB_LIMITS } from '../domain/limits';
import { REVIEW_SCHEMA_MISSING } from '../domain/preflight';
import { inTransaction, processBatch, reratesDevelop } from '../store/backfill/batch';
import { beginRun, committedBatch, finishRun, processedUserIds, recordBatch, unfinishedRun } from '../store/backfill/checkpoint';
import { assembleCsv, writeIdsFile } from '../store/backfill/csv';
import { existingMembers } from '../store/members/find';
import { unmappedOfMembers, unmappedUpTo } from '../store/unmapped';
import { developReplay, type DevelopReplay } from '../store/backfill/develop-replay';
import { removeOrphans } from '../store/backfill/membership';
import { dropChallengeSnapshot, takeChallengeSnapshot } from '../store/backfill/challenge-snapshot';
import { hasChallengeResult, memberRanges } from '../store/backfill/plan';
import { computedRankPartitions } from '../store/backfill/staging';
import { refreshRanks } from '../store/derived';
import { analyzeGrown, analyzeStale } from '../store/planner-stats';
import { openDatabases } from '../store/db';
import type { ActivityDeps } from './deps';
import { catalogCache } from './catalog-cache';
import { heartbeating } from './heartbeat';

/** Longer than any step can legitimately take: the statement timeout plus waiting for a connection and a lock. */
const STUCK_STEP_MS = DB_LIMITS.statementTimeoutMs + DB_LIMITS.acquireTimeoutMs + DB_LIMITS.lockTimeoutMs;

/** Where a batch's commit is recorded: its range, or its explicit members' first and last id. */
function checkpointRange(scope: BatchInput['scope']): UserRange {
  return 'range' in scope ? scope.range : [scope.userIds[0] ?? 0, scope.userIds.at(-1) ?? 0];
}

const scopeText = (input: BatchInput) =>
  'range' in input.scope ? `members ${input.scope.range[0]}–${input.scope.range[1]}` : `members ${input.scope.userIds.join(', ')}`;

/**
 * An outage (lost connection, database restarting) is retried until it passes; any other error (bad data, a
 * broken statement) happens again on every attempt, so after `maxAttempts` it becomes a non-retryable BatchFailed
 * that names the batch and the error, and the run stops visibly instead of retrying forever.
 */
function giveUpWhenHopeless(e: unknown, input: BatchInput, attempt: number): unknown {
  if (e instanceof ApplicationFailure || isTransient(e)) return e;
  const max = input.maxAttempts ?? DEFAULT_BATCH_ATTEMPTS;
  if (attempt < max) return e;
  const message = e instanceof Error ? e.message : String(e);
  return ApplicationFailure.nonRetryable(`batch of ${scopeText(input)} failed ${attempt} times: ${message}`, Failure.BatchFailed);
}

export function backfillActivities({ dbs, config }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);
  // One Development replay per run and process: every batch of the run writes its members' slice of it.
  const replays = new Map<string, Promise<DevelopReplay>>();
  const getReplay = (runKey: string): Promise<DevelopReplay> => {
    let r = replays.get(runKey);
    if (!r) {
      if (replays.size >= 2) replays.delete(replays.keys().next().value!);
      r = getCatalog().then(async (cat) => {
        // on connections of its own: batches await it inside their transactions, each holding one of the worker's
        const own = openDatabases(config, { size: 3, name: 'cutover-replay' });
        try {
          return await developReplay(own, cat, config.ratingMissingMetadata);
        } finally {
          await own.close();
        }
      });
      // also what keeps a failure nobody awaits yet from being unhandled: it surfaces where a batch awaits it
      r.catch(() => replays.delete(runKey));
      replays.set(runKey, r);
    }
    return r;
  };

  /** Starts the run's replay in this process while prepare goes on and the first batches are scheduled (they await it). */
  const warmReplay = (cat: Catalog, options: BackfillOptions, plan: BatchPlan) => {
    if (reratesDevelop(cat, options, plan)) void getReplay(plan.replayKey ?? plan.runKey);
  };

  const acts = {
    /** Resolves the options (track, member scope) and cuts the member set into keyset ranges. Writes nothing. */
    async backfillPrepare(options: BackfillOptions): Promise<BackfillPlan> {
      if (!(await hasChallengeResult(dbs.reviews)))
        throw ApplicationFailure.nonRetryable(REVIEW_SCHEMA_MISSING, Failure.ReviewSchemaMissing);
      const cat = await getCatalog();
      const track = options.track === undefined ? undefined : resolveTrack(cat, options.track);
      if (options.track !== undefined && !track) {
        throw ApplicationFailure.nonRetryable(unknownTrackMessage(cat, options.track), Failure.InvalidInput);
      }
      const type = options.type === undefined ? undefined : resolveType(cat, options.type);
      if (options.type !== undefined && !type) {
        throw ApplicationFailure.nonRetryable(unknownTypeMessage(cat, options.type), Failure.InvalidInput);
      }
      const info = Context.current().info;
      const runKey = info.workflowExecution?.runId ?? info.activityId;
      const base = {
        trackId: track?.id,
        trackName: track?.track,
        typeId: type?.id,
        typeName: type?.name,
        fullRun: track === undefined && type === undefined,
        runKey,
      };
      if (options.userIds) {
        const userIds = [...new Set(options.userIds)].sort((a, b) => a - b).slice(0, options.limit ?? Infinity);
        const unmapped = await unmappedOfMembers(dbs.members, userIds);
        // each member's commit is recorded (the run is never resumed by options: its key is its own), so a retry
        // whose completion was lost reports what it wrote instead of the nothing a second pass writes
        const checkpoint = !options.csvOnly;
        const plan: BackfillPlan = { ...base, checkpoint, ranges: [], userIds, membersTotal: userIds.length, unmapped };
        if (checkpoint) await beginRun(dbs.members, `members:${runKey}`, plan, !options.skipRatings);
        return plan;
      }
      // this execution's replay (a continued run's too) starts now, beside the rest of prepare: on large its reading
      // is long enough that the first batches waited for it
      warmReplay(cat, options, base);
      // a run over ranges checkpoints its batches; an unfinished earlier run with the same options is continued
      const checkpoint = !options.csvOnly;
      const resumeKey = resumeKeyOf(options);
      if (checkpoint && !options.restart) {
        const earlier = await unfinishedRun(dbs.members, resumeKey);
        // the source data may have moved since: the rating replay is this run's own, not the stopped run's
        if (earlier) {
          const resumed = { ...earlier.plan, replayKey: runKey, challengeSnapshot: dbs.sameDatabase };
          // read anew: the stopped run's reading missed what changed while no batch ran
          if (resumed.challengeSnapshot) await takeChallengeSnapshot(dbs.members, resumed.runKey);
          return { ...resumed, resumedBatches: earlier.committed };
        }
      }
      const { ranges, total } = await memberRanges(dbs.members, options.batchSize, options.limit);
      // once per run: legacy rows the mapping cannot place (whole tables, or the run's limited members)
      const unmapped = await unmappedUpTo(dbs.members, options.limit === undefined ? undefined : (ranges.at(-1)?.[1] ?? 0));
      // a checkpointed run's batches join one reading of Challenge, taken once its row is in (challenge-snapshot.ts)
      const challengeSnapshot = checkpoint && dbs.sameDatabase;
      const plan: BackfillPlan = { ...base, checkpoint, ranges, userIds: [], membersTotal: total, unmapped, challengeSnapshot };
      if (checkpoint) await beginRun(dbs.members, resumeKey, plan, !options.skipRatings);
      if (challengeSnapshot) await takeChallengeSnapshot(dbs.members, runKey);
      return plan;
    },

    /**
     * One batch in one transaction (store/backfill/batch.ts): a crash anywhere rolls it back and the retry redoes
     * it. --csv-only computes the same rows into part files and rolls back, touching nothing.
     */
    async backfillBatch(input: BatchInput): Promise<BatchResult> {
      const started = performance.now();
      const cat = await getCatalog();
      const timings: Timings = zeroTimings();
      const ctx = Context.current();
      let step: keyof Timings = 'preload';
      let stepStarted = performance.now();
      // a timer heartbeat: long SQL steps never look like a dead worker, and a dead worker is noticed quickly; a
      // step past every database timeout is stuck (a hung connection), so the beat stops and the attempt times out
      const beat = setInterval(() => {
        if (performance.now() - stepStarted < STUCK_STEP_MS) ctx.heartbeat({ scope: input.scope, step });
      }, 1000);
      const lap = async <T>(name: keyof Timings, fn: () => Promise<T>): Promise<T> => {
        const s = performance.now();
        step = name;
        stepStarted = s;
        ctx.heartbeat({ scope: input.scope, step });
        try {
          return await fn();
        } finally {
          timings[name] += performance.now() - s;
        }
      };
      const { scope, plan } = input;
      const range = plan.checkpoint ? checkpointRange(scope) : undefined;
      try {
        // committed before (a retry whose completion was lost, or a resumed run): what it wrote then, nothing again
        const earlier = range && (await committedBatch(dbs.members, plan.runKey, range));
        if (earlier) return { ...earlier, resumed: true, timings, ms: performance.now() - started };
        // not awaited here: the replay (computed once per run and process, started by prepare) overlaps the
        // batch's preload and aggregate; the batch waits for it at its rerate step
        const replayed = reratesDevelop(cat, input.options, plan) ? getReplay(plan.replayKey ?? plan.runKey) : undefined;
        const r = await inTransaction(dbs.members, input.options.csvOnly, async (tx) => {
          const out = await processBatch(tx, {
            dbs,
            catalog: cat,
            scope,
            options: input.options,
            plan,
            lap,
            replay: () => replayed ?? Promise.reject(new Error('the run does not rerate: no Development replay')),
          });
          if (range) await recordBatch(tx, plan.runKey, range, { ...out, timings: zeroTimings(), ms: 0 });
          return out;
        });
        if (!input.options.csvOnly) await analyzeGrown(dbs.members);
        return { ...r, timings, ms: performance.now() - started };
      } catch (e) {
        throw giveUpWhenHopeless(e, input, ctx.info.attempt);
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * After all batches: on a run over every member, unified rows of members no longer in `member` go (they would
     * still count in ranks); then ranks for the partitions the run touched (relative, so once at the end); or the
     * CSV assembly of a dry run.
     */
    async backfillFinalize(input: { options: BackfillOptions; plan: BatchPlan }): Promise<FinalizeResult> {
      const { options, plan } = input;
      if (options.csvOnly) return { ranksChanged: 0, orphansRemoved: 0, csvFiles: await assembleCsv(options.csvPath!, plan.runKey) };
      const everyMember = plan.fullRun && options.userIds === undefined && options.limit === undefined;
      // the phases after a backfill (ranks below, parity, rerate) join these tables: fresh statistics first
      await analyzeStale(dbs.members);
      const orphansRemoved = everyMember ? await removeOrphans(dbs.members) : 0;
      // only the partitions whose ranks we compute are re-ranked; legacy ranks elsewhere are preserved
      const cat = await getCatalog();
      // the run is done and its partitions re-ranked in one transaction: a live rating that left its ranks to this
      // run holds the run's row until it committed (store/backfill/ranks.ts), so this re-rank sees it
      const ranksChanged = await dbs.members.transaction().execute(async (tx) => {
        if (plan.checkpoint) await finishRun(tx, plan.runKey);
        if (plan.challengeSnapshot) await dropChallengeSnapshot(tx, plan.runKey);
        const partitions = options.skipRatings
          ? []
          : (await computedRankPartitions(tx, cat)).filter(
              (p) => (plan.trackId ?? p.trackId) === p.trackId && (plan.typeId ?? p.typeId) === p.typeId,
            );
        return refreshRanks(tx, partitions);
      });
      if (options.processedUserIdsPath) {
        const ids = plan.checkpoint
          ? await processedUserIds(dbs.members, plan.runKey)
          : await existingMembers(dbs.members, options.userIds ?? []);
        await writeIdsFile(options.processedUserIdsPath, ids);
      }
      return { ranksChanged, orphansRemoved, csvFiles: [] };
    },
  };
  return {
    ...acts,
    // prepare and finalize run under the batches' heartbeat timeout: without a beat, one that outlasts it (a rank
    // refresh of a large partition, a wait for a lock) would be timed out and started again beside itself, forever
    backfillPrepare: (options: BackfillOptions) => heartbeating(() => acts.backfillPrepare(options)),
    backfillFinalize: (input: { options: BackfillOptions; plan: BatchPlan }) => heartbeating(() => acts.backfillFinalize(input)),
  };
}
