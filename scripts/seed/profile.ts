import type { TrackName, TypeName } from '../../domain/catalog';

/** What a seed size means, and the shape of the synthetic platform's history. */

export type SeedSize = 'tiny' | 'small' | 'medium' | 'large';

export const SEED_SIZES: readonly SeedSize[] = ['tiny', 'small', 'medium', 'large'];

export const MEMBERS_BY_SIZE: Record<SeedSize, number> = { tiny: 200, small: 5_000, medium: 50_000, large: 500_000 };

const DAY = 86_400_000;
export const HISTORY_START = Date.UTC(2005, 0, 1);
/** The data's "now": challenges ending later are still ACTIVE (no results yet). */
export const DATA_NOW = Date.UTC(2025, 6, 1);
export const HISTORY_END = Date.UTC(2025, 6, 20);
/**
 * Where the legacy data ends: the old system rated and counted challenges up to there. The last share of the
 * challenges completed by DATA_NOW are on the platform — results, winners — but not in the legacy stats or
 * history, and their challengeResult rows carry no ratings: the backfill rates them, continuing from each
 * member's legacy state. A share, not a date, so every seed size has some.
 */
export const AFTER_LEGACY_SHARE = 0.03;

/** The end date of the last challenge the legacy data holds. */
export function legacyEndOf(endDates: readonly number[]): number {
  const done = endDates.filter((t) => t <= DATA_NOW).sort((a, b) => a - b);
  if (done.length === 0) return DATA_NOW;
  return done[Math.max(0, Math.floor(done.length * (1 - AFTER_LEGACY_SHARE)) - 1)]!;
}
/** The legacy pages ranked SRM and Marathon Match members active in the last 180 days (RATINGS.md). */
export const LEGACY_ACTIVE_DAYS = 180;
/** How often an administrator corrected a legacy rating by hand (per legacy rating). */
export const HAND_CORRECTION_RATE = 0.004;
export const FIRST_YEAR = 2005;
export const LAST_YEAR = 2025;

/** Relative platform activity per year 2005…2025 (2025 is half a year). */
export const CHALLENGE_YEAR_WEIGHT = [0.3, 0.45, 0.6, 0.7, 0.8, 0.9, 1, 1, 1.1, 1.2, 1.3, 1.3, 1.3, 1.2, 1.2, 1.1, 1, 0.9, 0.8, 0.8, 0.45];
/** Registrations per year 2005…2025: joins lead activity by a few years. */
export const JOIN_YEAR_WEIGHT = [0.9, 0.8, 0.8, 0.9, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.5, 1.4, 1.3, 1.2, 1.1, 1, 0.9, 0.8, 0.6, 0.25];

/** Which legacy stats item a challenge counts towards. */
export type StatsItem =
  | {
      table: 'develop';
      name: 'DEVELOPMENT' | 'CODE' | 'FIRST_2_FINISH' | 'ARCHITECTURE' | 'ASSEMBLY_COMPETITION' | 'UI_PROTOTYPE_COMPETITION' | 'BUG_HUNT';
    }
  | { table: 'design'; name: 'WEB_DESIGNS' | 'LOGO_DESIGN' | 'WIDGET_OR_MOBILE_SCREEN_DESIGN' | 'DESIGN_FIRST_2_FINISH' }
  | { table: 'marathon' }
  | { table: 'srm' }
  | null;

export type ScoreModel = 'review' | 'marathon' | 'srm' | 'task';

export interface ChallengeKind {
  key: string;
  track: TrackName;
  type: TypeName;
  fromYear: number;
  toYear: number;
  /** challenges per 1,000 members over the whole history (at least `min`) */
  per1000: number;
  min: number;
  /** participants: log-normal median and sigma, capped; and never more than 60% of the track's active pool */
  median: number;
  sigma: number;
  max: number;
  /** share that is rated (metadata says so); 0 for kinds no rating stream reads */
  ratedShare: number;
  durationDays: readonly [number, number];
  score: ScoreModel;
  /** prize places (ChallengeWinner type PLACEMENT); other passers get PASSED_REVIEW */
  prizes: number;
  items: readonly StatsItem[];
}

const DESIGN_ITEMS: StatsItem[] = [
  { table: 'design', name: 'WEB_DESIGNS' },
  { table: 'design', name: 'WEB_DESIGNS' },
  { table: 'design', name: 'WIDGET_OR_MOBILE_SCREEN_DESIGN' },
  { table: 'design', name: 'LOGO_DESIGN' },
];

/** The platform's challenge mix: eras per type, sizes per kind. Rated Development = Challenge + legacy CODE. */
export const KINDS: readonly ChallengeKind[] = [
  {
    key: 'dev',
    track: 'DEVELOPMENT',
    type: 'Challenge',
    fromYear: 2014,
    toYear: 2025,
    per1000: 440,
    min: 20,
    median: 9,
    sigma: 0.6,
    max: 80,
    ratedShare: 0.9,
    durationDays: [5, 14],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'DEVELOPMENT' }],
  },
  {
    key: 'code',
    track: 'DEVELOPMENT',
    type: 'CODE',
    fromYear: 2009,
    toYear: 2020,
    per1000: 320,
    min: 12,
    median: 10,
    sigma: 0.6,
    max: 80,
    ratedShare: 0.9,
    durationDays: [4, 10],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'CODE' }],
  },
  {
    key: 'arch',
    track: 'DEVELOPMENT',
    type: 'ARCHITECTURE',
    fromYear: 2005,
    toYear: 2014,
    per1000: 60,
    min: 3,
    median: 4,
    sigma: 0.5,
    max: 20,
    ratedShare: 0,
    durationDays: [7, 14],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'ARCHITECTURE' }],
  },
  {
    key: 'assembly',
    track: 'DEVELOPMENT',
    type: 'ASSEMBLY_COMPETITION',
    fromYear: 2005,
    toYear: 2016,
    per1000: 120,
    min: 4,
    median: 6,
    sigma: 0.5,
    max: 30,
    ratedShare: 0,
    durationDays: [5, 12],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'ASSEMBLY_COMPETITION' }],
  },
  {
    key: 'uiproto',
    track: 'DEVELOPMENT',
    type: 'UI_PROTOTYPE_COMPETITION',
    fromYear: 2008,
    toYear: 2015,
    per1000: 24,
    min: 2,
    median: 5,
    sigma: 0.5,
    max: 20,
    ratedShare: 0,
    durationDays: [5, 10],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'UI_PROTOTYPE_COMPETITION' }],
  },
  {
    key: 'devf2f',
    track: 'DEVELOPMENT',
    type: 'First2Finish',
    fromYear: 2013,
    toYear: 2025,
    per1000: 290,
    min: 8,
    median: 3,
    sigma: 0.6,
    max: 20,
    ratedShare: 0,
    durationDays: [1, 4],
    score: 'review',
    prizes: 1,
    items: [{ table: 'develop', name: 'FIRST_2_FINISH' }],
  },
  {
    key: 'devtask',
    track: 'DEVELOPMENT',
    type: 'Task',
    fromYear: 2016,
    toYear: 2025,
    per1000: 140,
    min: 4,
    median: 1,
    sigma: 0,
    max: 1,
    ratedShare: 0,
    durationDays: [1, 5],
    score: 'task',
    prizes: 1,
    items: [null],
  },
  {
    key: 'design',
    track: 'DESIGN',
    type: 'Challenge',
    fromYear: 2005,
    toYear: 2025,
    per1000: 290,
    min: 8,
    median: 8,
    sigma: 0.6,
    max: 60,
    ratedShare: 0,
    durationDays: [5, 12],
    score: 'review',
    prizes: 4,
    items: DESIGN_ITEMS,
  },
  {
    key: 'desf2f',
    track: 'DESIGN',
    type: 'First2Finish',
    fromYear: 2014,
    toYear: 2025,
    per1000: 70,
    min: 3,
    median: 3,
    sigma: 0.5,
    max: 15,
    ratedShare: 0,
    durationDays: [1, 4],
    score: 'review',
    prizes: 1,
    items: [{ table: 'design', name: 'DESIGN_FIRST_2_FINISH' }],
  },
  {
    key: 'mm',
    track: 'DATA_SCIENCE',
    type: 'Marathon Match',
    fromYear: 2005,
    toYear: 2025,
    per1000: 5,
    min: 14,
    median: 160,
    sigma: 0.5,
    max: 600,
    ratedShare: 0.95,
    durationDays: [7, 28],
    score: 'marathon',
    prizes: 5,
    items: [{ table: 'marathon' }],
  },
  {
    key: 'srm',
    track: 'DATA_SCIENCE',
    type: 'SRM',
    fromYear: 2005,
    toYear: 2022,
    per1000: 15,
    min: 12,
    median: 260,
    sigma: 0.5,
    max: 900,
    ratedShare: 1,
    durationDays: [0.08, 0.1],
    score: 'srm',
    prizes: 3,
    items: [{ table: 'srm' }],
  },
  // new-platform QA challenges: legacy stats never counted them (the backfill supplements them from results)
  {
    key: 'qa',
    track: 'QUALITY_ASSURANCE',
    type: 'Challenge',
    fromYear: 2014,
    toYear: 2025,
    per1000: 95,
    min: 3,
    median: 6,
    sigma: 0.5,
    max: 30,
    ratedShare: 0,
    durationDays: [3, 8],
    score: 'review',
    prizes: 2,
    items: [null],
  },
  {
    key: 'bughunt',
    track: 'QUALITY_ASSURANCE',
    type: 'BUG_HUNT',
    fromYear: 2008,
    toYear: 2016,
    per1000: 36,
    min: 2,
    median: 5,
    sigma: 0.5,
    max: 25,
    ratedShare: 0,
    durationDays: [2, 5],
    score: 'review',
    prizes: 2,
    items: [{ table: 'develop', name: 'BUG_HUNT' }],
  },
  {
    key: 'qaf2f',
    track: 'QUALITY_ASSURANCE',
    type: 'First2Finish',
    fromYear: 2016,
    toYear: 2025,
    per1000: 24,
    min: 1,
    median: 2,
    sigma: 0.4,
    max: 10,
    ratedShare: 0,
    durationDays: [1, 3],
    score: 'review',
    prizes: 1,
    items: [null],
  },
];

/** The four tracks in a fixed order, for per-track member arrays. */
export const TRACK_ORDER: readonly TrackName[] = ['DEVELOPMENT', 'DESIGN', 'DATA_SCIENCE', 'QUALITY_ASSURANCE'];

/** Anomaly rates (per candidate; see anomalies.ts for candidates and SQL definitions). Realistic: 0.5–5%. */
export const ANOMALY_RATES = {
  memberMissing: 0.01,
  challengeNoRatingMetadata: 0.02,
  marathonMatchUnderDevelopmentTrack: 0.03,
  legacyMarathonHistoryAlias: 0.05,
  submissionDeleted: 0.02,
  summationNoFinal: 0.02,
  summationSupersededFinal: 0.03,
  summationZeroScore: 0.015,
  scorePlaceholder: 0.015,
  partialPlacement: 0.015,
  invalidSubmission: 0.015,
  statsWithoutHistory: 0.01,
} as const;

export type AnomalyKind = keyof typeof ANOMALY_RATES;

export const ANOMALY_KINDS = Object.keys(ANOMALY_RATES) as AnomalyKind[];

export const MS = { DAY, HOUR: 3_600_000, MINUTE: 60_000, YEAR: 365.25 * DAY } as const;
