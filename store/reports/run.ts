import { sql, type Kysely } from 'kysely';
import type { Catalog } from '../../domain/catalog';
import { DEVELOP_STREAM_ITEMS, MARATHON_KEY } from '../../domain/mapping';
import {
  NAIVE_MARATHON_FILTER,
  RECOMPUTED_BY,
  type MarathonStatsRow,
  type RecentMemberRow,
  type ReportOutputs,
} from '../../domain/reports';
import { keyIds } from '../catalog';
import { REPORT_SQL, runReportSql } from './queries';

/**
 * Phase F: draws the sampled members and runs both reports on both sides, in one read-only snapshot so the sides
 * compare under live writes. Members are known (in `member`) and rated in legacy; md5(seed:userId) orders them, so a
 * seed names one sample.
 */

const marathonRated = sql`EXISTS (
  SELECT 1 FROM members."memberDataScienceStats" d JOIN members."memberMarathonStats" s ON s."dataScienceStatsId" = d.id
  WHERE d."userId" = m."userId" AND s.rating IS NOT NULL)`;
const anyRated = sql`(${marathonRated} OR EXISTS (
  SELECT 1 FROM members."memberDataScienceStats" d JOIN members."memberSrmStats" s ON s."dataScienceStatsId" = d.id
  WHERE d."userId" = m."userId" AND s.rating IS NOT NULL) OR EXISTS (
  SELECT 1 FROM members."memberDevelopStats" d JOIN members."memberDevelopStatsItem" i ON i."developStatsId" = d.id
  WHERE d."userId" = m."userId" AND i.rating IS NOT NULL))`;

async function sample(db: Kysely<any>, rated: typeof marathonRated, seed: string, limit: number): Promise<number[]> {
  const r = await sql<{ userId: number }>`
    SELECT m."userId" FROM members."member" m WHERE ${rated}
    ORDER BY md5(${seed} || ':' || m."userId"::text), m."userId" LIMIT ${limit}`.execute(db);
  return r.rows.map((x) => x.userId);
}

const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : String(d));
const withDates = (rows: RecentMemberRow[]) => rows.map((r) => ({ ...r, lastEventDate: iso(r.lastEventDate) }));

export async function runReports(db: Kysely<any>, catalog: Catalog, opts: { seed: string; samples: number }): Promise<ReportOutputs> {
  const [trackId, typeId] = keyIds(catalog, MARATHON_KEY);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (tx) => {
      const marathon = await sample(tx, marathonRated, opts.seed, opts.samples);
      const rated = await sample(tx, anyRated, opts.seed, opts.samples);
      const signatures = [...RECOMPUTED_BY];
      const unified = await runReportSql<MarathonStatsRow>(tx, REPORT_SQL.marathonUnified, [marathon, trackId, typeId, signatures]);
      // the same report filtered the way a legacy-era report would: by names, as text
      const naive = await runReportSql<MarathonStatsRow>(tx, REPORT_SQL.marathonUnified, [
        marathon,
        NAIVE_MARATHON_FILTER.trackId,
        NAIVE_MARATHON_FILTER.typeId,
        signatures,
      ]);
      const legacy = await runReportSql<MarathonStatsRow>(tx, REPORT_SQL.marathonLegacy, [marathon]);
      const recentUnified = await runReportSql<RecentMemberRow>(tx, REPORT_SQL.recentUnified, [rated, signatures]);
      const recentLegacy = await runReportSql<RecentMemberRow>(tx, REPORT_SQL.recentLegacy, [rated, [...DEVELOP_STREAM_ITEMS]]);
      return {
        sampled: { marathon, rated },
        marathon: { unified, legacy, naiveRows: naive.length },
        recent: { unified: withDates(recentUnified), legacy: withDates(recentLegacy) },
        catalogue: { trackId, typeId },
      };
    });
}
