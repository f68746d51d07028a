import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import type { Pool } from 'pg';
import { TRACKS, TYPES } from '../../domain/catalog';
import type { Databases } from '../../store/db';
import { planChallenges } from './calendar';
import { CopySink } from './copy';
import { writeLegacyStats } from './legacy-stats';
import { generatePopulation } from './population';
import { Rng } from './prng';
import { ANOMALY_KINDS, legacyEndOf, MEMBERS_BY_SIZE, type AnomalyKind, type SeedSize } from './profile';
import { Simulation, type LoopSinks } from './simulate';
import {
  analyzeSourceTables,
  createChallengesSource,
  createMembersSource,
  createReviewsSource,
  createSourceIndexes,
  dropSourceTables,
  SOURCE_TABLES,
  type SourceDatabase,
} from './source-schema';

/**
 * The synthetic source data: `runSeed` (re)creates the legacy members tables, the challenges schema and the
 * reviews schema, plays twenty years of platform history into them (see simulate.ts) and reports what it wrote.
 * Deterministic for a seed. Only the source tables are dropped and replaced; our own tables are never touched.
 *
 * Speed: rows stream through COPY on one connection per table while they are generated (Postgres parses on the
 * second core), keys and indexes are built after the load, two at a time, then ANALYZE.
 */

export type { SeedSize } from './profile';
export { SEED_SIZES } from './profile';
export { ANOMALY_DEFINITIONS, countAnomalies } from './anomalies';

export interface SeedSummary {
  size: SeedSize;
  seed: number;
  seconds: number;
  /** key: 'schema.table' */
  rows: Record<string, number>;
  /** injected, by kind (see ANOMALY_DEFINITIONS for how each is found in the data) */
  anomalies: Record<string, number>;
  /** the end date of the last challenge the legacy data holds: later ones are only on the platform */
  legacyEnd: string;
}

export interface SeedOptions {
  size: SeedSize;
  seed: number;
  log?: (msg: string) => void;
}

const LOOP_TABLES: Record<keyof LoopSinks, [SourceDatabase, string, string, readonly string[]]> = {
  challenge: [
    'challenges',
    'challenges',
    'Challenge',
    ['id', 'name', 'typeId', 'trackId', 'status', 'legacyId', 'startDate', 'endDate', 'createdAt', 'updatedAt'],
  ],
  metadata: ['challenges', 'challenges', 'ChallengeMetadata', ['id', 'challengeId', 'name', 'value']],
  winner: ['challenges', 'challenges', 'ChallengeWinner', ['id', 'challengeId', 'userId', 'handle', 'placement', 'type']],
  result: [
    'reviews',
    'reviews',
    'challengeResult',
    [
      'challengeId',
      'userId',
      'handle',
      'placement',
      'finalScore',
      'rated',
      'passedReview',
      'validSubmission',
      'oldRating',
      'newRating',
      'ratingOrder',
      'createdAt',
      'updatedAt',
    ],
  ],
  submission: ['reviews', 'reviews', 'submission', ['id', 'challengeId', 'memberId', 'status', 'type', 'finalScore', 'submittedDate']],
  summation: [
    'reviews',
    'reviews',
    'reviewSummation',
    ['id', 'submissionId', 'aggregateScore', 'isPassing', 'isFinal', 'reviewedDate', 'createdAt'],
  ],
  devHistory: [
    'members',
    'members',
    'memberDevelopHistoryStats',
    ['id', 'historyStatsId', 'challengeId', 'challengeName', 'ratingDate', 'newRating', 'subTrack', 'subTrackId'],
  ],
  dsHistory: [
    'members',
    'members',
    'memberDataScienceHistoryStats',
    ['id', 'historyStatsId', 'challengeId', 'challengeName', 'date', 'rating', 'placement', 'percentile', 'subTrack', 'subTrackId'],
  ],
};

/** The loop holds one connection per streamed table; fail clearly rather than wait forever on a small pool. */
function checkPoolCapacity(dbs: Databases): void {
  const need = new Map<Pool, number>();
  for (const [db] of Object.values(LOOP_TABLES)) need.set(dbs.pools[db], (need.get(dbs.pools[db]) ?? 0) + 1);
  for (const [pool, n] of need) {
    const max = pool.options.max ?? 10;
    if (max < n)
      throw new Error(`seed: the database pool allows ${max} connections but loading needs ${n}; open the databases with poolSize ≥ ${n}`);
  }
}

export async function runSeed(dbs: Databases, opts: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const log = opts.log ?? (() => undefined);
  const members = MEMBERS_BY_SIZE[opts.size];
  if (members === undefined) throw new Error(`seed: unknown size ${String(opts.size)} (tiny, small, medium, large)`);
  if (!Number.isSafeInteger(opts.seed)) throw new Error(`seed: the seed must be an integer, got ${opts.seed}`);
  checkPoolCapacity(dbs);
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  const root = new Rng(opts.seed, 'cutover-seed');

  log(`seed ${opts.size} (seed ${opts.seed}): recreating source tables`);
  await dropSourceTables(dbs);
  await createMembersSource(dbs.members, { deferKeys: true });
  await createChallengesSource(dbs.challenges, { deferKeys: true });
  await createReviewsSource(dbs.reviews, { deferKeys: true });
  await insertCatalog(dbs.challenges);

  const population = generatePopulation(root.fork('members'), members);
  const calendar = planChallenges(root.fork('calendar'), members);
  log(`${members} members, ${calendar.challenges.length} challenges planned (${elapsed()})`);

  const sinks: CopySink[] = [];
  const open = async (db: SourceDatabase, schema: string, table: string, columns: readonly string[]) => {
    const sink = new CopySink(dbs[db], dbs.pools[db], schema, table, columns);
    sinks.push(sink);
    return sink.open();
  };
  try {
    const loop = {} as LoopSinks;
    for (const [key, [db, schema, table, columns]] of Object.entries(LOOP_TABLES) as [
      keyof LoopSinks,
      (typeof LOOP_TABLES)[keyof LoopSinks],
    ][]) {
      loop[key] = await open(db, schema, table, columns);
    }
    const loopSinks = Object.values(loop);
    const legacyEnd = legacyEndOf(calendar.challenges.map((c) => c.endAt));
    const sim = new Simulation(root.fork('history'), population, loop, legacyEnd);
    let year = 0;
    for (const c of calendar.challenges) {
      const y = new Date(c.endAt).getUTCFullYear();
      if (y !== year) {
        if (year) log(`${year} played: ${loop.challenge.rows} challenges, ${loop.result.rows} results (${elapsed()})`);
        year = y;
      }
      sim.play(c);
      for (const sink of loopSinks) if (sink.full) await sink.maybeFlush();
    }
    await Promise.all(loopSinks.map((s) => s.close()));
    log(`history played: ${loop.result.rows} results, ${loop.devHistory.rows + loop.dsHistory.rows} legacy history rows (${elapsed()})`);

    const { memberMissing } = await writeLegacyStats(
      root.fork('stats'),
      population,
      sim.result,
      (table, columns) => open('members', 'members', table, columns),
      legacyEnd,
    );
    log(`member and legacy stats tables written (${elapsed()})`);

    await createSourceIndexes(dbs);
    log(`keys and indexes built (${elapsed()})`);
    await analyzeSourceTables(dbs);

    const rows: Record<string, number> = {};
    for (const t of SOURCE_TABLES) rows[`${t.schema}.${t.table}`] = 0;
    rows['challenges.ChallengeTrack'] = TRACKS.length;
    rows['challenges.ChallengeType'] = TYPES.length;
    for (const s of sinks) rows[s.name] = s.rows;

    const injected: Record<AnomalyKind, number> = {
      ...sim.result.anomalies,
      memberMissing,
      challengeNoRatingMetadata: calendar.noRatingMetadata,
      marathonMatchUnderDevelopmentTrack: calendar.marathonUnderDevelopment,
    };
    const anomalies: Record<string, number> = {};
    for (const kind of ANOMALY_KINDS) anomalies[kind] = injected[kind];
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    log(`seed ${opts.size} done in ${seconds}s`);
    return { size: opts.size, seed: opts.seed, seconds, rows, anomalies, legacyEnd: new Date(legacyEnd).toISOString() };
  } catch (err) {
    await Promise.all(sinks.map((s) => s.abort(err as Error)));
    throw err;
  }
}

async function insertCatalog(db: Kysely<any>): Promise<void> {
  await db
    .insertInto('challenges.ChallengeTrack')
    .values(
      TRACKS.map((t) => ({ id: t.id, name: t.name, abbreviation: t.abbreviation, track: t.track, isActive: true, legacyId: t.legacyId })),
    )
    .execute();
  await db
    .insertInto('challenges.ChallengeType')
    .values(TYPES.map((t) => ({ id: t.id, name: t.name, abbreviation: t.abbreviation, isActive: t.isActive, isTask: t.isTask })))
    .execute();
}
