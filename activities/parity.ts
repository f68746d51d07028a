import { performance } from 'node:perf_hooks';
import { ApplicationFailure } from '@temporalio/activity';
import { sql, type Kysely } from 'kysely';
import {
  type CategoryResult,
  type DataWatermark,
  type Findings,
  type ParityCategory,
  type ParityGate,
  type ParityOptions,
  type ParityPlan,
  type ParityScope,
} from '../domain/parity';
import { useCatalog } from '../api/shape';
import { loadCatalog, type Catalog } from './sql/backfill';
import {
  countFindings,
  explicitlyUnrated,
  historyCount,
  historyOrder,
  mostRecentViolations,
  nameExamples,
  nonNullRows,
  nullRatingChallengeIds,
  nullRatingRows,
  rankCompleteness,
  ratingMismatch,
  trackSummary,
  type FindingsQuery,
} from './sql/parity';
import { responseShapeFindings } from './sql/parity-shape';
import { currentParityGate } from './sql/parity-gate';
import { dataWatermark } from './sql/parity-watermark';
import type { ActivityDeps } from './deps';

export interface CategoryInput {
  category: ParityCategory;
  scope: ParityScope;
  shapeUserIds: number[];
  examples: number;
}

const QUERIES: Partial<Record<ParityCategory, FindingsQuery>> = {
  'track-summary': trackSummary,
  'rating-mismatch': ratingMismatch,
  'history-count': historyCount,
  'rank-completeness': rankCompleteness,
  'most-recent-violations': mostRecentViolations,
  'non-null-rows': nonNullRows,
};

/** Member order for sampling: md5(seed:userId), so a seed names one sample and repeating it repeats the sample. */
const seededOrder = (seed: string) => sql`md5(${seed} || ':' || "userId"::text), "userId"`;

function merge(a: Findings, b: Findings, limit: number): Findings {
  const key = (e: Findings['examples'][number]) => `${String(e.userId ?? 0).padStart(20, '0')}/${e.track}/${e.type}/${e.field}`;
  return { count: a.count + b.count, examples: [...a.examples, ...b.examples].sort((x, y) => key(x).localeCompare(key(y))).slice(0, limit) };
}

/** Read-only, with room for the hash joins of a full run. */
function readOnly<T>(db: Kysely<any>, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (tx) => {
    await sql`SET TRANSACTION READ ONLY`.execute(tx);
    await sql`SET LOCAL work_mem = '64MB'`.execute(tx);
    return fn(tx);
  });
}

export function parityActivities({ dbs }: ActivityDeps) {
  let catalog: Promise<Catalog> | undefined;
  // the read API's helpers (response-shape) name tracks by the same catalogue
  const getCatalog = () =>
    (catalog ??= loadCatalog(dbs.challenges).then(
      (c) => (useCatalog(c), c),
      (e) => ((catalog = undefined), Promise.reject(e)),
    ));
  const db = dbs.members;

  /** history-order: mostRecent order findings plus null newRatings (errors; warnings where explicitly unrated). */
  async function historyOrderResult(cat: Catalog, scope: ParityScope, examples: number): Promise<Omit<CategoryResult, 'ms'>> {
    const order = nameExamples(cat, await readOnly(db, (tx) => countFindings(tx, historyOrder(cat, scope), examples)));
    const ids = await nullRatingChallengeIds(db, scope);
    const unrated = ids.length > 0 ? await explicitlyUnrated(dbs.challenges, ids) : [];
    const nulls = nullRatingRows(scope, unrated);
    const errors = nameExamples(cat, await countFindings(db, nulls, examples, sql`NOT unrated`));
    const warnings = nameExamples(cat, await countFindings(db, nulls, examples, sql`unrated`));
    return { ...merge(order, errors, examples), warnings };
  }

  return {
    /** Resolves the mode to the members in scope (the seeded sample, one member, or all) and the data watermark. */
    async parityPrepare(options: ParityOptions): Promise<ParityPlan> {
      await getCatalog(); // fail early when the catalogue is incomplete
      const total = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM members."member"`.execute(db)).rows[0]!.n;
      let scope: ParityScope;
      let shapeUserIds: number[];
      let sampleHash = 'all';
      if (options.mode === 'user') {
        const found = await sql<{ userId: number }>`SELECT "userId" FROM members."member" WHERE "userId" = ${options.userId!}`.execute(db);
        if (found.rows.length === 0) {
          throw ApplicationFailure.nonRetryable(`--user-id ${options.userId}: no such member in members."member" (the backfill skips such ids, so there is nothing to compare)`, 'InvalidInput');
        }
        scope = { userIds: [options.userId!] };
        shapeUserIds = [options.userId!];
        sampleHash = `user:${options.userId}`;
      } else {
        const seed = options.seed!;
        const limit = options.mode === 'sample' ? options.samples! : options.shapeSamples;
        const r = await sql<{ userId: number }>`SELECT "userId" FROM members."member" ORDER BY ${seededOrder(seed)} LIMIT ${limit}`.execute(db);
        const ids = r.rows.map((x) => x.userId);
        shapeUserIds = ids.slice(0, options.shapeSamples);
        if (options.mode === 'sample') {
          scope = { userIds: ids };
          const h = await sql<{ h: string }>`SELECT md5(array_to_string(array(SELECT unnest(${ids}::bigint[]) ORDER BY 1), ',')) AS h`.execute(db);
          sampleHash = h.rows[0]!.h;
        } else {
          scope = { all: true };
        }
      }
      const membersInScope = 'all' in scope ? total : scope.userIds.length;
      return {
        scope,
        shapeUserIds,
        seed: options.mode === 'user' ? undefined : options.seed,
        sampleHash,
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
        result = await historyOrderResult(cat, input.scope, input.examples);
      } else if (input.category === 'response-shape') {
        const all = await responseShapeFindings(db, input.shapeUserIds);
        result = { count: all.length, examples: all.slice(0, input.examples) };
      } else {
        const query = QUERIES[input.category];
        if (!query) throw ApplicationFailure.nonRetryable(`unknown parity category ${input.category}`, 'InvalidInput');
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
  };
}
