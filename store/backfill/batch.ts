import { sql, type Kysely } from 'kysely';
import type { BackfillOptions, BatchPlan, BatchResult, HeavyMember, Scope, Timings, UserRange } from '../../domain/backfill';
import type { Catalog } from '../../domain/catalog';
import type { Databases } from '../db';
import { DEVELOP_RATED_KEY } from '../../domain/mapping';
import { DB_LIMITS } from '../../domain/limits';
import { keyIds } from '../catalog';
import { refreshMaxRating } from '../derived';
import { ids } from '../sql';
import { writeCsvPart } from './csv';
import { applyDevelopRerate, keepContinuedRatings, type DevelopReplay } from './develop-replay';
import { keepRerated } from './keep-rerated';
import { loadBatchMembers } from './membership';
import { loadBatchSources } from './sources';
import { carryComputedRanks, HISTORY_COLUMNS, STATS_COLUMNS, stageHistory, stageStats, type BatchSql } from './staging';
import { upsertHistory, upsertStats } from './upsert';

/**
 * One batch of phase A inside one transaction: members → staged stats and history (set-based) → the Development
 * rerate applied to the staged rows → upserts (only changed rows written) → memberMaxRating. A dry run exports the
 * staged rows to CSV instead. Shared by the batch activity and the benchmark's limit and baseline passes.
 */

export type Lap = <T>(name: keyof Timings, fn: () => Promise<T>) => Promise<T>;
export const untimed: Lap = (_name, fn) => fn();

export interface BatchContext {
  dbs: Databases;
  catalog: Catalog;
  scope: Scope;
  options: BackfillOptions;
  plan: BatchPlan;
  lap: Lap;
  /** the run's Development replay (computed once per run and process), awaited at the rerate step inside the
   * transaction; it must not need a connection of the pool the batches hold (the activity gives it its own) */
  replay: () => Promise<DevelopReplay>;
}

const DRY_RUN = Symbol('dry run: roll back');

/** Runs fn in a transaction; a dry run always rolls back, so nothing it did (temp tables included) can stay. */
export async function inTransaction<T>(db: Kysely<any>, dryRun: boolean, fn: (tx: Kysely<any>) => Promise<T>): Promise<T> {
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

function heaviest(perMember: Map<number, number>, n = 5): HeavyMember[] {
  return [...perMember.entries()]
    .map(([userId, rows]) => ({ userId, rows }))
    .sort((a, b) => b.rows - a.rows || a.userId - b.userId)
    .slice(0, n);
}

/** The continuation writes the Development stream's key: only when the run's filters include it. */
function developStreamInScope(cat: Catalog, plan: BatchPlan): boolean {
  const [devTrack, streamType] = keyIds(cat, DEVELOP_RATED_KEY);
  return (plan.trackId ?? devTrack) === devTrack && (plan.typeId ?? streamType) === streamType;
}

/** Whether a batch applies the run's Development replay (callers resolve it before the batch's transaction opens). */
export function reratesDevelop(cat: Catalog, options: BackfillOptions, plan: BatchPlan): boolean {
  return !options.skipRerate && !options.skipRatings && developStreamInScope(cat, plan);
}

export async function processBatch(tx: Kysely<any>, ctx: BatchContext): Promise<Omit<BatchResult, 'timings' | 'ms'>> {
  const { dbs, catalog: cat, options, plan, lap, scope } = ctx;
  const batch = await lap('preload', async () => {
    // for the batch's transaction only: its hashes fit in memory instead of spilling to disk; no JIT (compiling a
    // statement costs more than running it over one batch); its temp tables analyzed on a small sample (they are
    // analyzed for row counts and join estimates, not histograms); index reads priced as the cached reads they
    // are; a lock held by a live writer, or a statement that never ends, fails the attempt (retried) instead of
    // holding it forever
    await sql`SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true),
      set_config('default_statistics_target', '10', true), set_config('random_page_cost', '1.1', true),
      set_config('lock_timeout', ${`${DB_LIMITS.lockTimeoutMs}ms`}, true),
      set_config('statement_timeout', ${`${DB_LIMITS.statementTimeoutMs}ms`}, true)`.execute(tx);
    const m = await loadBatchMembers(tx, scope, dbs.sameDatabase);
    await loadBatchSources(tx, dbs, cat, plan.challengeSnapshot ? plan.runKey : undefined);
    return m;
  });
  const b: BatchSql = {
    catalog: cat,
    trackId: plan.trackId,
    typeId: plan.typeId,
    fullRun: plan.fullRun,
    provisionalRanks: plan.provisionalRanks === true,
  };
  const history = !options.skipHistory;
  await lap('aggregate', async () => {
    await stageStats(tx, b);
    await carryComputedRanks(tx, b);
    if (history) await stageHistory(tx, b);
  });
  let rerated = 0;
  const streamInScope = developStreamInScope(cat, plan);
  if (reratesDevelop(cat, options, plan)) {
    const replayed = await lap('rerate', ctx.replay);
    rerated = await lap('rerate', () => applyDevelopRerate(tx, replayed, cat, { history }));
  } else if (streamInScope) {
    await lap('rerate', () => keepContinuedRatings(tx, cat));
  }
  await lap('rerate', () => keepRerated(tx, { history }));

  const weight = new Map<number, number>();
  const weigh = (m: Map<number, number>) => m.forEach((n, id) => weight.set(id, (weight.get(id) ?? 0) + n));
  let statsRows = 0;
  let historyRows = 0;
  let staleRemoved = 0;
  if (options.csvOnly) {
    const stats = await sql<Record<string, unknown>>`SELECT ${ids(STATS_COLUMNS)} FROM batch_stats ORDER BY 1, 2, 3`.execute(tx);
    await lap('statsWrite', () => writeCsvPart(options.csvPath!, plan.runKey, scope, 'memberStats', stats.rows));
    statsRows = stats.rows.length;
    if (history) {
      const h = await sql<Record<string, unknown>>`SELECT ${ids(HISTORY_COLUMNS)} FROM batch_history ORDER BY 1, 2, 3, 4`.execute(tx);
      await lap('historyWrite', () => writeCsvPart(options.csvPath!, plan.runKey, scope, 'memberStatsHistory', h.rows));
      historyRows = h.rows.length;
    }
  } else {
    const s = await lap('statsWrite', () => upsertStats(tx, b));
    statsRows = s.written;
    staleRemoved += s.stale;
    weigh(s.perMember);
    if (history) {
      const h = await lap('historyWrite', () => upsertHistory(tx, b));
      historyRows = h.written;
      staleRemoved += h.stale;
      weigh(h.perMember);
    }
    if (!options.skipRatings) await lap('derived', () => refreshMaxRating(tx, cat, { batchMembers: true }));
  }
  const range: UserRange = 'range' in scope ? scope.range : [scope.userIds[0] ?? 0, scope.userIds.at(-1) ?? 0];
  return {
    range,
    members: batch.members,
    missingMembers: batch.missing.length,
    missingSample: batch.missing.slice(0, 10),
    statsRows,
    historyRows,
    staleRemoved,
    rerated,
    heaviest: heaviest(weight),
  };
}
