import { z } from 'zod';
import { ratingColor } from './catalog';
import { DEVELOP_ITEM_KEYS, dataScienceHistoryKey, type UnifiedKey } from './mapping';
import { RERATE_CREATED_BY } from './rerate';

/**
 * Phase F — reports. The runbook's two report queries (Marathon Match stats; recent member data with
 * memberMaxRating), kept as SQL files under store/reports/sql/, run over the unified tables and over the legacy ones
 * for sampled known, rated members. This module is the pure half: the options, the comparison of the two outputs,
 * and the trap — a report that filters unified rows by a legacy name finds nothing, since they are keyed by catalogue
 * ids. Shared by the workflow, the activity, the CLI and tests.
 */

export const REPORTS = ['marathon-stats', 'recent-members'] as const;
export type ReportName = (typeof REPORTS)[number];

export const MAX_REPORT_SAMPLES = 500;
export const DEFAULT_REPORT_SAMPLES = 20;
/** Member ids and mismatches kept per report in payloads and evidence (the counts are always complete). */
export const REPORT_EXAMPLES = 50;

const Seed = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: '--seed must be 1-64 letters, digits, - or _' });

export const ReportsOptions = z.object({
  /** rated members drawn per report (Marathon Match rated ones for the first, any rating for the second) */
  samples: z
    .number({ error: '--samples must be a whole number between 1 and 500' })
    .int({ error: '--samples must be a whole number between 1 and 500' })
    .min(1, { error: '--samples must be at least 1' })
    .max(MAX_REPORT_SAMPLES, { error: `--samples must be at most ${MAX_REPORT_SAMPLES}` })
    .default(DEFAULT_REPORT_SAMPLES),
  /** names the sample (md5(seed:userId) order), so a run can be repeated; the workflow draws one when absent */
  seed: Seed.optional(),
});
export type ReportsOptions = z.infer<typeof ReportsOptions>;
export type ReportsInput = z.input<typeof ReportsOptions>;

/**
 * Writers whose ratings are computed, not legacy's preserved numbers: the backfill's continuation after the legacy
 * data ('rerate', store/backfill/develop-replay.ts) and phase D's stream rerates (which a refresh's rating runs too).
 * A unified value they wrote is not compared with legacy; it must still be there.
 */
export const RECOMPUTED_BY: readonly string[] = ['rerate', ...Object.values(RERATE_CREATED_BY)];

/** The legacy names a report written for the legacy tables filters by; unified rows carry catalogue ids instead. */
export const NAIVE_MARATHON_FILTER = { trackId: 'DATA_SCIENCE', typeId: 'MARATHON_MATCH' } as const;

/** One row of the Marathon Match stats report, either side. */
export interface MarathonStatsRow {
  userId: number;
  handle: string;
  rating: number | null;
  volatility: number | null;
  maxRating: number | null;
  minRating: number | null;
  globalRank: number | null;
  countryRank: number | null;
  challenges: number | null;
  wins: number | null;
  /** Marathon Match history rows (legacy: distinct challenges) */
  historyRows: number;
  /** unified only: a recomputing writer (RECOMPUTED_BY) wrote this member's Marathon Match rating */
  recomputed?: boolean;
}

/** One row of the recent member data report, either side: every sampled member, most recently active first. */
export interface RecentMemberRow {
  userId: number;
  handle: string;
  /** unified: memberMaxRating; legacy: the highest current legacy rating */
  maxRating: number | null;
  /** unified: memberMaxRating's track and subTrack (catalogue names); legacy: the family and legacy sub-track holding it */
  track: string | null;
  subTrack: string | null;
  /** unified only */
  ratingColor: string | null;
  /** the latest history event (ISO) */
  lastEventDate: string | null;
  /** legacy only: several current ratings share the maximum, so which one memberMaxRating names is not legacy's to say */
  tied?: boolean;
  /** unified only: a recomputing writer wrote one of this member's rows */
  recomputed?: boolean;
}

/** What store/reports/run.ts hands over: both reports on both sides, from one snapshot. */
export interface ReportOutputs {
  sampled: { marathon: number[]; rated: number[] };
  marathon: { unified: MarathonStatsRow[]; legacy: MarathonStatsRow[]; naiveRows: number };
  recent: { unified: RecentMemberRow[]; legacy: RecentMemberRow[] };
  /** the catalogue ids the keyed report filtered by */
  catalogue: { trackId: string; typeId: string };
}

export interface ReportMismatch {
  userId: number;
  field: string;
  legacy: unknown;
  unified: unknown;
}

export interface ReportOutcome {
  report: ReportName;
  /** the report's output rows on each side, over the sampled members */
  rows: { unified: number; legacy: number };
  /** sampled members with a legacy rating on this report: each must have a non-null unified one */
  rated: number;
  /** of those, the ones whose unified values are legacy's preserved numbers, compared value for value */
  compared: number;
  /** of those, the ones a recomputing writer rated since: only the non-null rule applies */
  recomputed: number;
  /** rated members whose unified report has no rating (no row, or a null) */
  nulls: { count: number; userIds: number[] };
  mismatches: { count: number; examples: ReportMismatch[] };
}

export interface TrapFinding {
  /** the naive report's filter: the legacy names, compared as text */
  filter: string;
  naiveRows: number;
  keyedRows: number;
  /** the naive filter found nothing where the report keyed by catalogue ids found rows: the trap is real here */
  caught: boolean;
  message: string;
}

/** The evidence of one reports run (kind 'reports'): what the workflow stores and returns. */
export interface ReportsEvidence {
  /** non-null ratings for every rated sampled member, and outputs agreeing wherever legacy is preserved */
  passed: boolean;
  /** why not, one line each (empty when passed) */
  problems: string[];
  /** one line for an operator */
  summary: string;
  seed: string;
  samples: number;
  sampled: { marathon: number[]; rated: number[] };
  reports: Record<ReportName, ReportOutcome>;
  trap: TrapFinding;
}

type Tally = Omit<ReportOutcome, 'report' | 'rows' | 'nulls' | 'mismatches'> & { nulls: number[]; mismatches: ReportMismatch[] };

const tally = (): Tally => ({ rated: 0, compared: 0, recomputed: 0, nulls: [], mismatches: [] });

function outcome(report: ReportName, rows: ReportOutcome['rows'], t: Tally): ReportOutcome {
  return {
    report,
    rows,
    rated: t.rated,
    compared: t.compared,
    recomputed: t.recomputed,
    nulls: { count: t.nulls.length, userIds: t.nulls.slice(0, REPORT_EXAMPLES) },
    mismatches: { count: t.mismatches.length, examples: t.mismatches.slice(0, REPORT_EXAMPLES) },
  };
}

/** Preserved as legacy has them (parity's rating-mismatch fields): equal wherever legacy has a value. */
const MARATHON_EQUAL = ['rating', 'volatility', 'maxRating', 'minRating', 'globalRank', 'countryRank'] as const;
/** Unified adds what legacy never counted (results after its last event), never less. */
const MARATHON_AT_LEAST = ['challenges', 'historyRows'] as const;

export function compareMarathonStats(legacy: MarathonStatsRow[], unified: MarathonStatsRow[]): ReportOutcome {
  const byUser = new Map(unified.map((u) => [u.userId, u]));
  const t = tally();
  for (const l of legacy) {
    if (l.rating === null) continue; // not rated on this report
    t.rated++;
    const u = byUser.get(l.userId);
    if (!u || u.rating === null) {
      t.nulls.push(l.userId);
      continue;
    }
    if (u.recomputed) {
      t.recomputed++;
      continue;
    }
    t.compared++;
    for (const f of MARATHON_EQUAL)
      if (l[f] !== null && u[f] !== l[f]) t.mismatches.push({ userId: l.userId, field: f, legacy: l[f], unified: u[f] });
    for (const f of MARATHON_AT_LEAST)
      if (l[f] !== null && (u[f] ?? 0) < l[f]) t.mismatches.push({ userId: l.userId, field: f, legacy: l[f], unified: u[f] });
  }
  return outcome('marathon-stats', { unified: unified.length, legacy: legacy.length }, t);
}

/** A legacy (family, sub-track) → the unified key memberMaxRating names (domain/mapping.ts). */
export function legacyMaxKey(family: string | null, subTrack: string | null): UnifiedKey | undefined {
  if (subTrack === null) return undefined;
  if (family === 'DEVELOP') return DEVELOP_ITEM_KEYS[subTrack];
  if (family === 'DATA_SCIENCE') return dataScienceHistoryKey(subTrack);
  return undefined;
}

export function compareRecentMembers(legacy: RecentMemberRow[], unified: RecentMemberRow[]): ReportOutcome {
  const byUser = new Map(unified.map((u) => [u.userId, u]));
  const t = tally();
  const differ = (userId: number, field: string, l: unknown, u: unknown) => t.mismatches.push({ userId, field, legacy: l, unified: u });
  for (const l of legacy) {
    if (l.maxRating === null) continue;
    t.rated++;
    const u = byUser.get(l.userId);
    if (!u || u.maxRating === null) {
      t.nulls.push(l.userId);
      continue;
    }
    // the colour follows the rating whoever computed it
    if (u.ratingColor !== ratingColor(u.maxRating)) differ(l.userId, 'ratingColor', ratingColor(u.maxRating), u.ratingColor);
    if (u.recomputed) {
      t.recomputed++;
      continue;
    }
    t.compared++;
    if (u.maxRating !== l.maxRating) differ(l.userId, 'maxRating', l.maxRating, u.maxRating);
    const key = l.tied ? undefined : legacyMaxKey(l.track, l.subTrack);
    if (key && (key.track !== u.track || key.type !== u.subTrack))
      differ(l.userId, 'track/subTrack', `${key.track}/${key.type}`, `${u.track}/${u.subTrack}`);
    if (l.lastEventDate !== null && (u.lastEventDate === null || u.lastEventDate < l.lastEventDate))
      differ(l.userId, 'lastEventDate', l.lastEventDate, u.lastEventDate);
  }
  return outcome('recent-members', { unified: unified.length, legacy: legacy.length }, t);
}

export function detectTrap(naiveRows: number, keyedRows: number, catalogue: { trackId: string; typeId: string }): TrapFinding {
  const filter = `trackId = '${NAIVE_MARATHON_FILTER.trackId}' AND typeId = '${NAIVE_MARATHON_FILTER.typeId}'`;
  const caught = naiveRows === 0 && keyedRows > 0;
  const message = caught
    ? `filtering by trackId = '${NAIVE_MARATHON_FILTER.trackId}' finds nothing: unified rows are keyed by catalogue ids; join the catalogue ` +
      `(ChallengeTrack ${NAIVE_MARATHON_FILTER.trackId} = ${catalogue.trackId}, ChallengeType Marathon Match = ${catalogue.typeId}): ` +
      `the keyed report found ${keyedRows} rows, the name-filtered one 0`
    : keyedRows === 0
      ? 'no sampled member has Marathon Match stats in unified: the name-filter trap could not be shown on this sample'
      : `filtering by trackId = '${NAIVE_MARATHON_FILTER.trackId}' found ${naiveRows} rows (keyed report: ${keyedRows}): unified rows carry legacy names, not catalogue ids`;
  return { filter, naiveRows, keyedRows, caught, message };
}

/** Both reports compared, the trap checked, and the verdict: passed = non-null ratings and outputs that agree. */
export function summarizeReports(out: ReportOutputs, options: { seed: string; samples: number }): ReportsEvidence {
  const reports: Record<ReportName, ReportOutcome> = {
    'marathon-stats': compareMarathonStats(out.marathon.legacy, out.marathon.unified),
    'recent-members': compareRecentMembers(out.recent.legacy, out.recent.unified),
  };
  const trap = detectTrap(out.marathon.naiveRows, out.marathon.unified.length, out.catalogue);
  const problems: string[] = [];
  for (const r of Object.values(reports)) {
    if (r.nulls.count > 0)
      problems.push(`${r.report}: ${r.nulls.count} rated member(s) without a unified rating: ${r.nulls.userIds.slice(0, 10).join(', ')}`);
    if (r.mismatches.count > 0) {
      const first = r.mismatches.examples[0]!;
      problems.push(
        `${r.report}: ${r.mismatches.count} value(s) differ from legacy, e.g. member ${first.userId} ${first.field}: legacy ${JSON.stringify(first.legacy)}, unified ${JSON.stringify(first.unified)}`,
      );
    }
  }
  const rated = reports['marathon-stats'].rated + reports['recent-members'].rated;
  if (rated === 0) problems.push('no rated member in the sample: the reports show nothing (is the legacy data there?)');
  const passed = problems.length === 0;
  const counts = Object.values(reports)
    .map((r) => `${r.report} ${r.rated - r.nulls.count}/${r.rated} rated non-null, ${r.compared} compared, ${r.mismatches.count} differing`)
    .join('; ');
  return {
    passed,
    problems,
    summary: `${passed ? 'reports hold' : 'reports do not hold'}: ${counts}${trap.caught ? '; name-filter trap caught' : ''}`,
    seed: options.seed,
    samples: options.samples,
    sampled: out.sampled,
    reports,
    trap,
  };
}
