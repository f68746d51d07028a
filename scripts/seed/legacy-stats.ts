import { DESIGN_SUBTRACKS, DEVELOP_SUBTRACKS } from '../../domain/catalog';
import { ts, type Cell, type CopySink } from './copy';
import { COUNTRIES } from './names';
import { countryCode, rankCountryOf, type Population } from './population';
import { Injector, type Rng } from './prng';
import { ANOMALY_RATES, LEGACY_ACTIVE_DAYS, MS } from './profile';
import { ITEM_NAMES, ITEM_SLOTS, type ItemAgg, type SimResult } from './simulate';

/**
 * After the history has played: the `member` table and the legacy stats tables from the accumulated aggregates,
 * with legacy ranks (by rating, overall / by country / by school) for the rated sub-tracks as the legacy pages
 * had them: members active in the last LEGACY_ACTIVE_DAYS before the legacy data ends ranked first, the inactive
 * after them — not what a RANK() over everyone gives, so a migration must preserve them, not recompute them.
 * The "member row missing" anomaly is decided here, among members who took part in something — those are the
 * user ids stats and results reference.
 */

export type OpenSink = (table: string, columns: readonly string[]) => Promise<CopySink>;

interface Ranks {
  rank: number;
  countryRank: number | null;
  schoolRank: number | null;
  percentile: number;
}

const DEV_CODES = [0, 1, 2, 3, 4, 5, 6];
const DESIGN_CODES = [7, 8, 9, 10];
const MM = 11;
const SRM = 12;
const RATED_CODES = [0, 1, MM, SRM];
const LANGUAGES = ['Java', 'C++', 'Python', 'C#'];

/**
 * Competition ranks (1, 2, 2, 4) by rating descending within each group, active members first: the inactive rank
 * after every active member of their group. Ties ordered by member for stability.
 */
function rankGroups(items: { m: number; rating: number; active: boolean }[], group: (m: number) => number): Map<number, number> {
  const groups = new Map<number, { m: number; rating: number; active: boolean }[]>();
  for (const it of items) {
    const g = group(it.m);
    if (g < 0) continue;
    const list = groups.get(g);
    if (list) list.push(it);
    else groups.set(g, [it]);
  }
  const out = new Map<number, number>();
  for (const list of groups.values()) {
    list.sort((a, b) => Number(b.active) - Number(a.active) || b.rating - a.rating || a.m - b.m);
    let rank = 0;
    list.forEach((it, i) => {
      const prev = list[i - 1];
      if (i === 0 || it.rating !== prev!.rating || it.active !== prev!.active) rank = i + 1;
      out.set(it.m, rank);
    });
  }
  return out;
}

/** Ranks among members the platform still has: the legacy system ranked live profiles, not deleted ones. */
function computeRanks(pop: Population, aggs: Map<number, ItemAgg>, missing: Uint8Array, legacyEnd: number): Map<number, Ranks> {
  const out = new Map<number, Ranks>();
  for (const code of RATED_CODES) {
    const items: { m: number; rating: number; active: boolean }[] = [];
    const activeSince = legacyEnd - LEGACY_ACTIVE_DAYS * MS.DAY;
    for (let m = 0; m < pop.n; m++) {
      if (missing[m]) continue;
      const a = aggs.get(m * ITEM_SLOTS + code);
      if (a?.rating !== null && a?.rating !== undefined) items.push({ m, rating: a.rating, active: a.mostRecentEventDate >= activeSince });
    }
    const overall = rankGroups(items, () => 0);
    const country = rankGroups(items, (m) => rankCountryOf(pop, m));
    const school = rankGroups(items, (m) => pop.school[m]!);
    const n = items.length;
    for (const { m } of items) {
      const rank = overall.get(m)!;
      out.set(m * ITEM_SLOTS + code, {
        rank,
        countryRank: country.get(m) ?? null,
        schoolRank: school.get(m) ?? null,
        percentile: Math.round((10_000 * (n - rank)) / n) / 100,
      });
    }
  }
  return out;
}

async function writeTable(
  open: OpenSink,
  table: string,
  columns: readonly string[],
  fill: (emit: (cells: Cell[]) => Promise<void>) => Promise<void>,
): Promise<void> {
  const sink = await open(table, columns);
  try {
    await fill(async (cells) => {
      sink.row(cells);
      if (sink.full) await sink.maybeFlush();
    });
    await sink.close();
  } catch (err) {
    await sink.abort(err as Error);
    throw err;
  }
}

const maxDate = (xs: number[]) => (xs.length ? Math.max(...xs) : 0) || null;

export async function writeLegacyStats(
  rng: Rng,
  pop: Population,
  sim: SimResult,
  open: OpenSink,
  legacyEnd: number,
): Promise<{ memberMissing: number }> {
  const aggs = sim.aggs;
  const missing = new Uint8Array(pop.n);
  const missingInjector = new Injector(rng.fork('anomaly/memberMissing'), ANOMALY_RATES.memberMissing);
  for (let m = 0; m < pop.n; m++) if (sim.participated[m] && missingInjector.hit()) missing[m] = 1;
  const ranks = computeRanks(pop, aggs, missing, legacyEnd);
  const get = (m: number, code: number) => aggs.get(m * ITEM_SLOTS + code);

  await writeTable(
    open,
    'member',
    ['userId', 'handle', 'handleLower', 'email', 'status', 'homeCountryCode', 'competitionCountryCode', 'country', 'createdAt'],
    async (emit) => {
      for (let m = 0; m < pop.n; m++) {
        if (missing[m]) continue;
        const handle = pop.handle[m]!;
        const home = pop.homeCountry[m]!;
        await emit([
          pop.userId[m],
          handle,
          handle.toLowerCase(),
          `${handle.toLowerCase()}@example.com`,
          pop.status[m],
          countryCode(home),
          countryCode(pop.competitionCountry[m]!),
          pop.countryText[m] && home >= 0 ? COUNTRIES[home]![1] : null,
          ts(pop.joinAt[m]),
        ]);
      }
    },
  );

  // Parent rows (memberDevelopStats, …) and their items share one pass so item rows can carry the parent id.
  const parents = [
    { table: 'memberDevelopStats', codes: DEV_CODES },
    { table: 'memberDesignStats', codes: DESIGN_CODES },
    { table: 'memberDataScienceStats', codes: [MM, SRM] },
  ];
  const parentIds = parents.map(() => new Float64Array(pop.n));
  for (const [i, parent] of parents.entries()) {
    let id = 0;
    await writeTable(
      open,
      parent.table,
      ['id', 'userId', 'challenges', 'wins', 'mostRecentSubmission', 'mostRecentEventDate'],
      async (emit) => {
        for (let m = 0; m < pop.n; m++) {
          const items = parent.codes.map((c) => get(m, c)).filter((a): a is ItemAgg => a !== undefined);
          if (items.length === 0) continue;
          parentIds[i]![m] = ++id;
          const sum = (f: (a: ItemAgg) => number) => items.reduce((s, a) => s + f(a), 0);
          await emit([
            id,
            pop.userId[m],
            sum((a) => a.challenges),
            sum((a) => a.wins),
            ts(maxDate(items.map((a) => a.mostRecentSubmission))),
            ts(maxDate(items.map((a) => a.mostRecentEventDate))),
          ]);
        }
      },
    );
  }
  const [developIds, designIds, dataScienceIds] = parentIds as [Float64Array, Float64Array, Float64Array];

  let itemId = 0;
  await writeTable(
    open,
    'memberDevelopStatsItem',
    [
      'id',
      'developStatsId',
      'name',
      'subTrackId',
      'challenges',
      'wins',
      'rating',
      'volatility',
      'maxRating',
      'minRating',
      'overallRank',
      'countryRank',
      'schoolRank',
      'overallPercentile',
      'mostRecentSubmission',
      'mostRecentEventDate',
    ],
    async (emit) => {
      for (let m = 0; m < pop.n; m++) {
        for (const code of DEV_CODES) {
          const a = get(m, code);
          if (!a) continue;
          const name = ITEM_NAMES[code] as keyof typeof DEVELOP_SUBTRACKS;
          const r = ranks.get(m * ITEM_SLOTS + code);
          await emit([
            ++itemId,
            developIds[m],
            name,
            DEVELOP_SUBTRACKS[name],
            a.challenges,
            a.wins,
            a.rating,
            a.volatility,
            a.maxRating,
            a.minRating,
            r?.rank ?? null,
            r?.countryRank ?? null,
            r?.schoolRank ?? null,
            r?.percentile ?? null,
            ts(a.mostRecentSubmission),
            ts(a.mostRecentEventDate),
          ]);
        }
      }
    },
  );

  itemId = 0;
  await writeTable(
    open,
    'memberDesignStatsItem',
    [
      'id',
      'designStatsId',
      'name',
      'subTrackId',
      'challenges',
      'wins',
      'submissions',
      'passedScreening',
      'avgPlacement',
      'mostRecentSubmission',
      'mostRecentEventDate',
    ],
    async (emit) => {
      for (let m = 0; m < pop.n; m++) {
        for (const code of DESIGN_CODES) {
          const a = get(m, code);
          if (!a) continue;
          const name = ITEM_NAMES[code] as keyof typeof DESIGN_SUBTRACKS;
          const avg = a.placementCount ? Math.round((100 * a.placementSum) / a.placementCount) / 100 : null;
          await emit([
            ++itemId,
            designIds[m],
            name,
            DESIGN_SUBTRACKS[name],
            a.challenges,
            a.wins,
            a.submissions,
            a.passedScreening,
            avg,
            ts(a.mostRecentSubmission),
            ts(a.mostRecentEventDate),
          ]);
        }
      }
    },
  );

  const dsColumns = [
    'id',
    'dataScienceStatsId',
    'challenges',
    'wins',
    'rating',
    'percentile',
    'rank',
    'countryRank',
    'schoolRank',
    'volatility',
    'maximumRating',
    'minimumRating',
    'defaultLanguage',
    'competitions',
  ];
  const dsTail = ['mostRecentEventName', 'mostRecentEventDate', 'mostRecentSubmission'];
  const langRng = rng.fork('languages');
  const language = Array.from({ length: pop.n }, () => langRng.pick(LANGUAGES));
  for (const code of [SRM, MM]) {
    const marathon = code === MM;
    itemId = 0;
    const columns = marathon
      ? [...dsColumns, 'avgRank', 'avgNumSubmissions', 'bestRank', 'topFiveFinishes', 'topTenFinishes', ...dsTail]
      : [...dsColumns, ...dsTail];
    await writeTable(open, marathon ? 'memberMarathonStats' : 'memberSrmStats', columns, async (emit) => {
      for (let m = 0; m < pop.n; m++) {
        const a = get(m, code);
        if (!a) continue;
        const r = ranks.get(m * ITEM_SLOTS + code);
        const head: Cell[] = [
          ++itemId,
          dataScienceIds[m],
          a.challenges,
          a.wins,
          a.rating,
          r?.percentile ?? null,
          r?.rank ?? null,
          r?.countryRank ?? null,
          r?.schoolRank ?? null,
          a.volatility,
          a.maxRating,
          a.minRating,
          language[m],
          a.competitions,
        ];
        const mid: Cell[] = marathon
          ? [
              a.competitions ? Math.round((100 * a.rankSum) / a.competitions) / 100 : null,
              a.challenges ? Math.round((100 * a.submissions) / a.challenges) / 100 : null,
              a.bestRank,
              a.topFive,
              a.topTen,
            ]
          : [];
        await emit([...head, ...mid, a.mostRecentEventName, ts(a.mostRecentEventDate), ts(a.mostRecentSubmission)]);
      }
    });
  }

  await writeTable(open, 'memberHistoryStats', ['id', 'userId'], async (emit) => {
    const rows: [number, number][] = [];
    for (let m = 0; m < pop.n; m++) if (sim.historyStatsId[m]) rows.push([sim.historyStatsId[m]!, pop.userId[m]!]);
    rows.sort((a, b) => a[0] - b[0]);
    for (const row of rows) await emit(row);
  });

  return { memberMissing: missingInjector.count };
}
