import { describe, expect, it } from 'vitest';
import {
  compareMarathonStats,
  compareRecentMembers,
  detectTrap,
  ReportsOptions,
  summarizeReports,
  type MarathonStatsRow,
  type RecentMemberRow,
  type ReportOutputs,
} from '../domain/reports';
import { parseReportsFlags } from '../scripts/commands/reports';

/** Phase F's pure half on hand-built report rows: what is compared, what is required, and the trap. */

const mm = (userId: number, over: Partial<MarathonStatsRow> = {}): MarathonStatsRow => ({
  userId,
  handle: `m${userId}`,
  rating: 1500,
  volatility: 300,
  maxRating: 1600,
  minRating: 1200,
  globalRank: 10,
  countryRank: 2,
  challenges: 5,
  wins: 1,
  historyRows: 5,
  ...over,
});

const recent = (userId: number, over: Partial<RecentMemberRow> = {}): RecentMemberRow => ({
  userId,
  handle: `m${userId}`,
  maxRating: 1500,
  track: 'DATA_SCIENCE',
  subTrack: 'Marathon Match',
  ratingColor: '#FCD617',
  lastEventDate: '2024-05-01T00:00:00.000Z',
  ...over,
});

/** A legacy row of the recent-members report: legacy names, no colour. */
const legacyRecent = (userId: number, over: Partial<RecentMemberRow> = {}): RecentMemberRow =>
  recent(userId, { track: 'DATA_SCIENCE', subTrack: 'MARATHON_MATCH', ratingColor: null, tied: false, ...over });

const CATALOGUE = { trackId: 'c0f5d461-8219-4c16-a7ac-a1ca7a0e2d2c', typeId: '929bc408-9cf2-4b3e-ba71-adfbf693046c' };

describe('Marathon Match stats: unified against legacy', () => {
  it('agrees when unified preserves every legacy value, and counts more events as agreement', () => {
    const o = compareMarathonStats([mm(1), mm(2)], [mm(1), mm(2, { challenges: 7, historyRows: 9 })]);
    expect(o).toMatchObject({ rows: { unified: 2, legacy: 2 }, rated: 2, compared: 2, recomputed: 0 });
    expect(o.nulls.count + o.mismatches.count).toBe(0);
  });

  it('names the member and the field whose preserved value differs, and fewer events than legacy', () => {
    const o = compareMarathonStats([mm(1), mm(2)], [mm(1, { rating: 1499 }), mm(2, { historyRows: 4 })]);
    expect(o.mismatches.examples).toEqual([
      { userId: 1, field: 'rating', legacy: 1500, unified: 1499 },
      { userId: 2, field: 'historyRows', legacy: 5, unified: 4 },
    ]);
  });

  it('a rated member without a unified rating — no row or a null — is a null, recomputed or not', () => {
    const o = compareMarathonStats([mm(1), mm(2), mm(3)], [mm(2, { rating: null }), mm(3, { rating: null, recomputed: true })]);
    expect(o.nulls).toEqual({ count: 3, userIds: [1, 2, 3] });
  });

  it('a recomputed rating is not compared; a legacy null is not compared; an unrated legacy member is not rated', () => {
    const o = compareMarathonStats(
      [mm(1), mm(2, { countryRank: null }), mm(3, { rating: null })],
      [mm(1, { rating: 1720, recomputed: true }), mm(2, { countryRank: 7 }), mm(3, { rating: null })],
    );
    expect(o).toMatchObject({ rated: 2, compared: 1, recomputed: 1, nulls: { count: 0 }, mismatches: { count: 0 } });
  });

  it('keeps at most 50 examples, with complete counts', () => {
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    const o = compareMarathonStats(
      ids.map((i) => mm(i)),
      ids.map((i) => mm(i, { volatility: 1 })),
    );
    expect(o.mismatches.count).toBe(60);
    expect(o.mismatches.examples).toHaveLength(50);
  });
});

describe('recent member data with memberMaxRating: unified against legacy', () => {
  it('maps the legacy sub-track holding the max to the key memberMaxRating names', () => {
    const o = compareRecentMembers(
      [legacyRecent(1), legacyRecent(2, { maxRating: 1300, track: 'DEVELOP', subTrack: 'CODE' })],
      [recent(1), recent(2, { maxRating: 1300, track: 'DEVELOPMENT', subTrack: 'Challenge', ratingColor: '#616BD5' })],
    );
    expect(o).toMatchObject({ rated: 2, compared: 2, nulls: { count: 0 }, mismatches: { count: 0 } });
  });

  it('reports a different max rating, key or an older last event, per member', () => {
    const o = compareRecentMembers(
      [legacyRecent(1), legacyRecent(2), legacyRecent(3)],
      [
        recent(1, { maxRating: 1507 }),
        recent(2, { track: 'DATA_SCIENCE', subTrack: 'SRM' }),
        recent(3, { lastEventDate: '2024-04-01T00:00:00.000Z' }),
      ],
    );
    expect(o.mismatches.examples).toEqual([
      { userId: 1, field: 'maxRating', legacy: 1500, unified: 1507 },
      { userId: 2, field: 'track/subTrack', legacy: 'DATA_SCIENCE/Marathon Match', unified: 'DATA_SCIENCE/SRM' },
      { userId: 3, field: 'lastEventDate', legacy: '2024-05-01T00:00:00.000Z', unified: '2024-04-01T00:00:00.000Z' },
    ]);
  });

  it('a tie at the max leaves the key to unified; the colour must follow the rating even when recomputed', () => {
    const o = compareRecentMembers(
      [legacyRecent(1, { tied: true }), legacyRecent(2)],
      [recent(1, { track: 'DEVELOPMENT', subTrack: 'Challenge' }), recent(2, { maxRating: 800, ratingColor: '#FCD617', recomputed: true })],
    );
    expect(o).toMatchObject({ compared: 1, recomputed: 1 });
    expect(o.mismatches.examples).toEqual([{ userId: 2, field: 'ratingColor', legacy: '#9D9FA0', unified: '#FCD617' }]);
  });

  it('a rated member without a memberMaxRating row is a null; a member legacy never rated is not required to have one', () => {
    const o = compareRecentMembers(
      [legacyRecent(1), legacyRecent(2, { maxRating: null, track: null, subTrack: null })],
      [recent(1, { maxRating: null, track: null, subTrack: null, ratingColor: null }), recent(2, { maxRating: null, ratingColor: null })],
    );
    expect(o).toMatchObject({ rated: 1, nulls: { count: 1, userIds: [1] } });
  });
});

describe('the name-filter trap', () => {
  it('is caught when the report filtered by legacy names finds nothing where the keyed one finds rows', () => {
    const t = detectTrap(0, 12, CATALOGUE);
    expect(t).toMatchObject({ caught: true, naiveRows: 0, keyedRows: 12 });
    expect(t.message).toContain(
      "filtering by trackId = 'DATA_SCIENCE' finds nothing: unified rows are keyed by catalogue ids; join the catalogue",
    );
    expect(t.message).toContain(CATALOGUE.trackId);
  });

  it('cannot be shown without Marathon Match rows, and is not there when names match', () => {
    expect(detectTrap(0, 0, CATALOGUE)).toMatchObject({ caught: false, message: expect.stringContaining('could not be shown') });
    expect(detectTrap(5, 5, CATALOGUE)).toMatchObject({ caught: false, message: expect.stringContaining('found 5 rows') });
  });
});

describe('the verdict', () => {
  const outputs = (over: Partial<ReportOutputs> = {}): ReportOutputs => ({
    sampled: { marathon: [1, 2], rated: [1, 2] },
    marathon: { unified: [mm(1), mm(2)], legacy: [mm(1), mm(2)], naiveRows: 0 },
    recent: { unified: [recent(1), recent(2)], legacy: [legacyRecent(1), legacyRecent(2)] },
    catalogue: CATALOGUE,
    ...over,
  });

  it('passes with non-null ratings and agreeing outputs, and says the trap was caught', () => {
    const r = summarizeReports(outputs(), { seed: 's', samples: 2 });
    expect(r).toMatchObject({ passed: true, problems: [], seed: 's', samples: 2, trap: { caught: true } });
    expect(r.summary).toMatch(/^reports hold: marathon-stats 2\/2 rated non-null/);
  });

  it('fails naming the member whose rating is null, and the one whose value differs', () => {
    const r = summarizeReports(
      outputs({
        marathon: { unified: [mm(1, { rating: null }), mm(2)], legacy: [mm(1), mm(2)], naiveRows: 0 },
        recent: {
          unified: [recent(1), recent(2, { maxRating: 1400, ratingColor: '#616BD5' })],
          legacy: [legacyRecent(1), legacyRecent(2)],
        },
      }),
      { seed: 's', samples: 2 },
    );
    expect(r.passed).toBe(false);
    expect(r.problems).toEqual([
      'marathon-stats: 1 rated member(s) without a unified rating: 1',
      'recent-members: 1 value(s) differ from legacy, e.g. member 2 maxRating: legacy 1500, unified 1400',
    ]);
  });

  it('an empty sample proves nothing: not passed', () => {
    const r = summarizeReports(
      outputs({
        sampled: { marathon: [], rated: [] },
        marathon: { unified: [], legacy: [], naiveRows: 0 },
        recent: { unified: [], legacy: [] },
      }),
      { seed: 's', samples: 2 },
    );
    expect(r.passed).toBe(false);
    expect(r.problems).toEqual([expect.stringContaining('no rated member in the sample')]);
  });
});

describe('options and flags', () => {
  it('samples default to 20 and stay within 1..500; the seed is letters, digits, - or _', () => {
    expect(ReportsOptions.parse({})).toEqual({ samples: 20 });
    for (const samples of [0, 501, 1.5]) expect(ReportsOptions.safeParse({ samples }).success).toBe(false);
    expect(ReportsOptions.safeParse({ seed: 'a b' }).success).toBe(false);
  });

  it('the CLI draws a seed when none is given and refuses bad flags as usage errors (exit 2)', () => {
    expect(parseReportsFlags({}, () => 'fresh')).toEqual({ samples: 20, seed: 'fresh' });
    expect(parseReportsFlags({ samples: '500', seed: 'run-1' })).toEqual({ samples: 500, seed: 'run-1' });
    expect(() => parseReportsFlags({ samples: '0' })).toThrow(
      expect.objectContaining({ name: 'UsageError', message: '--samples must be at least 1' }),
    );
    expect(() => parseReportsFlags({ samples: '501' })).toThrow(/at most 500/);
    expect(() => parseReportsFlags({ samples: 'ten' })).toThrow(/--samples must be a whole number/);
    expect(() => parseReportsFlags({ seed: 'no spaces' })).toThrow(/--seed must be/);
  });
});
