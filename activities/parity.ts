import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/activity';
import {
  MAX_DEFERRED_IDS,
  MAX_SAMPLES,
  recheckScope,
  type CategoryInput,
  type CategoryResult,
  type DataWatermark,
  type ParityCategory,
  type ParityGate,
  type ParityOptions,
  type ParityPlan,
  type ParityScope,
  type RecheckScope,
} from '../domain/parity';
import { catalogNames } from '../domain/catalog';
import { Failure } from '../domain/failures';
import {
  countFindings,
  historyCount,
  historyOrderFindings,
  mostRecentViolations,
  nameExamples,
  nonNullRows,
  rankCompleteness,
  ratingMismatch,
  trackSummary,
  type FindingsQuery,
} from '../store/parity/categories';
import { changedAmong, changedMembersSince, enableChangeCapture, parityEvidenceStart, parityStart } from '../store/parity/changes';
import { currentParityGate } from '../store/parity/gate';
import { responseShapeFindings } from '../store/parity/shape';
import { memberCount, memberExists, sampleHash, seededSample } from '../store/parity/scope';
import { dataWatermark } from '../store/parity/watermark';
import { readOnly } from '../store/sql';
import { catalogCache } from './catalog-cache';
import { withHeartbeats } from './heartbeat';
import type { ActivityDeps } from './deps';

const QUERIES: Partial<Record<ParityCategory, FindingsQuery>> = {
  'track-summary': trackSummary,
  'rating-mismatch': ratingMismatch,
  'history-count': historyCount,
  'rank-completeness': rankCompleteness,
  'most-recent-violations': mostRecentViolations,
  'non-null-rows': nonNullRows,
};

export function parityActivities({ dbs }: ActivityDeps) {
  const getCatalog = catalogCache(dbs);
  const db = dbs.members;

  /** The base of a re-check: its snapshot, or bad input naming why there is none. */
  async function recheckBase(since: number) {
    const base = await parityEvidenceStart(db, since);
    if (!base) throw ApplicationFailure.nonRetryable(`--changed-since ${since}: no parity evidence #${since}`, Failure.InvalidInput);
    if (!base.start)
      throw ApplicationFailure.nonRetryable(
        `--changed-since ${since}: parity evidence #${since} recorded no snapshot (taken before change capture): run a base first (--full, or --samples)`,
        Failure.InvalidInput,
      );
    return base.start;
  }

  // categories of a large platform run for minutes: they beat, so a lost worker is noticed in seconds, not at the limit
  return withHeartbeats({
    /**
     * Resolves the mode to the members in scope (the seeded sample, one member, every member changed since a base
     * run, or all) and where the run starts from: change capture on (store/parity/changes.ts), the data watermark,
     * then the snapshot — so a change after the watermark is either visible in the snapshot (and moves the end
     * watermark) or captured as changed since it (and deferred).
     */
    async parityPrepare(options: ParityOptions): Promise<ParityPlan> {
      await getCatalog(); // fail early when the catalogue is incomplete
      const total = await memberCount(db);
      const base = options.mode === 'changed' ? await recheckBase(options.since!) : undefined;
      const capture = await enableChangeCapture(db);
      if (base && 'off' in capture)
        throw ApplicationFailure.nonRetryable(`--changed-since needs change capture: ${capture.off}`, Failure.InvalidInput);
      const watermark = await dataWatermark(db);
      const start = 'off' in capture ? undefined : await parityStart(db, options.lagGraceSeconds);
      let scope: ParityScope;
      let shapeUserIds: number[];
      let hash = 'all';
      let recheck: RecheckScope | undefined;
      if (options.mode === 'user') {
        if (!(await memberExists(db, options.userId!))) {
          throw ApplicationFailure.nonRetryable(
            `--user-id ${options.userId}: no such member in members."member" (the backfill skips such ids, so there is nothing to compare)`,
            Failure.InvalidInput,
          );
        }
        scope = { userIds: [options.userId!] };
        shapeUserIds = [options.userId!];
        hash = `user:${options.userId}`;
      } else if (base && start) {
        // after our own snapshot: every change the base's snapshot did not see and ours did is in the list
        const changed = await changedMembersSince(db, base.snapshot, MAX_SAMPLES + 1);
        const bounded = recheckScope(changed);
        const ranAsFull =
          start.epoch !== base.epoch
            ? `changes since the base may have gone unmarked (change capture epoch ${base.epoch} → ${start.epoch}: capture was (re)installed or a compared table truncated): compared every member instead`
            : bounded.ranAsFull;
        scope = ranAsFull ? { all: true } : bounded.scope;
        shapeUserIds = changed.slice(0, options.shapeSamples);
        if (shapeUserIds.length === 0 && ranAsFull)
          shapeUserIds = await seededSample(db, `changed-since-${options.since}`, options.shapeSamples);
        if ('userIds' in scope) hash = await sampleHash(db, scope.userIds);
        recheck = { since: options.since!, changedMembers: changed.length, ...(ranAsFull ? { ranAsFull } : {}) };
      } else {
        const seed = options.seed!;
        const limit = options.mode === 'sample' ? options.samples! : options.shapeSamples;
        const ids = await seededSample(db, seed, limit);
        shapeUserIds = ids.slice(0, options.shapeSamples);
        if (options.mode === 'sample') {
          scope = { userIds: ids };
          hash = await sampleHash(db, ids);
        } else {
          scope = { all: true };
        }
      }
      const membersInScope = 'all' in scope ? total : scope.userIds.length;
      return {
        scope,
        shapeUserIds,
        seed: options.mode === 'user' || options.mode === 'changed' ? undefined : options.seed,
        sampleHash: hash,
        membersInScope,
        membersTotal: total,
        coversAllMembers: 'all' in scope || membersInScope === total,
        watermark,
        ...(start ? { start } : { captureOff: 'off' in capture ? capture.off : 'change capture is off' }),
        ...(recheck ? { recheck } : {}),
      };
    },

    /** One category over the scope: its count and first examples. */
    async parityCategory(input: CategoryInput): Promise<CategoryResult> {
      const started = performance.now();
      const cat = await getCatalog();
      let result: Omit<CategoryResult, 'ms'>;
      const snapshot = input.snapshot;
      if (input.category === 'history-order') {
        result = await historyOrderFindings(db, dbs.challenges, cat, input.scope, input.examples, snapshot);
      } else if (input.category === 'response-shape') {
        const all = await responseShapeFindings(db, catalogNames(cat), input.shapeUserIds);
        // read after the comparisons: a change they saw has committed, so its members are marked
        const changed =
          snapshot === undefined ? undefined : await changedAmong(db, snapshot, [...new Set(all.flatMap((f) => f.userId ?? []))]);
        const counted = changed ? all.filter((f) => f.userId === null || !changed.has(f.userId)) : all;
        const deferred = all.filter((f) => f.userId !== null && changed?.has(f.userId));
        result = {
          count: counted.length,
          examples: counted.slice(0, input.examples),
          ...(changed
            ? {
                deferred: {
                  count: deferred.length,
                  userIds: [...changed].sort((a, b) => a - b).slice(0, MAX_DEFERRED_IDS),
                },
              }
            : {}),
        };
      } else {
        const query = QUERIES[input.category];
        if (!query) throw ApplicationFailure.nonRetryable(`unknown parity category ${input.category}`, Failure.InvalidInput);
        result = nameExamples(
          cat,
          await readOnly(db, (tx) => countFindings(tx, query(cat, input.scope, snapshot), input.examples, undefined, snapshot)),
        );
      }
      return { ...result, ms: Math.round(performance.now() - started) };
    },

    async parityWatermark(): Promise<DataWatermark> {
      return dataWatermark(db);
    },

    /**
     * The parity gate over the stored parity evidence and the current data watermark (computed unless the caller
     * has just measured it).
     */
    async parityGate(input: { watermark?: string } = {}): Promise<ParityGate> {
      return currentParityGate(db, input.watermark);
    },
  });
}
