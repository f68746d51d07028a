import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/activity';
import type {
  CategoryInput,
  CategoryResult,
  DataWatermark,
  ParityCategory,
  ParityGate,
  ParityOptions,
  ParityPlan,
  ParityScope,
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

  // categories of a large platform run for minutes: they beat, so a lost worker is noticed in seconds, not at the limit
  return withHeartbeats({
    /** Resolves the mode to the members in scope (the seeded sample, one member, or all) and the data watermark. */
    async parityPrepare(options: ParityOptions): Promise<ParityPlan> {
      await getCatalog(); // fail early when the catalogue is incomplete
      const total = await memberCount(db);
      let scope: ParityScope;
      let shapeUserIds: number[];
      let hash = 'all';
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
        seed: options.mode === 'user' ? undefined : options.seed,
        sampleHash: hash,
        membersInScope,
        membersTotal: total,
        coversAllMembers: membersInScope === total,
        watermark: await dataWatermark(db),
      };
    },

    /** One category over the scope: its count and first examples. */
    async parityCategory(input: CategoryInput): Promise<CategoryResult> {
      const started = performance.now();
      const cat = await getCatalog();
      let result: Omit<CategoryResult, 'ms'>;
      if (input.category === 'history-order') {
        result = await historyOrderFindings(db, dbs.challenges, cat, input.scope, input.examples);
      } else if (input.category === 'response-shape') {
        const all = await responseShapeFindings(db, catalogNames(cat), input.shapeUserIds);
        result = { count: all.length, examples: all.slice(0, input.examples) };
      } else {
        const query = QUERIES[input.category];
        if (!query) throw ApplicationFailure.nonRetryable(`unknown parity category ${input.category}`, Failure.InvalidInput);
        result = nameExamples(cat, await readOnly(db, (tx) => countFindings(tx, query(cat, input.scope), input.examples)));
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
