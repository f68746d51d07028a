import { describe, expect, it } from 'vitest';
import { computeRanks, memberMaxRatings, rankCountry, type RankInputRow } from '../domain/rating/ranks';

const row = (userId: string, rating: number | null, patch: Partial<RankInputRow> = {}): RankInputRow => ({
  userId,
  trackId: 'T',
  typeId: 'X',
  isPrivate: false,
  rating,
  homeCountryCode: 'USA',
  ...patch,
});

describe('global and country ranks', () => {
  it('RANK() by rating desc within (track, type, isPrivate); ties share, next skips; unrated get none', () => {
    const rows = [
      row('a', 1500),
      row('b', 2000),
      row('c', 1500),
      row('d', 1000),
      row('e', null),
      row('f', 3000, { isPrivate: true }),
      row('g', 100, { typeId: 'Y' }),
    ];
    expect(computeRanks(rows).map((r) => r.globalRank)).toEqual([2, 1, 2, 4, null, 1, 1]);
  });

  it('country = competition country, else home country, else country; blank counts as missing', () => {
    expect(rankCountry({ competitionCountryCode: 'IND', homeCountryCode: 'USA', country: 'x' })).toBe('IND');
    expect(rankCountry({ competitionCountryCode: ' ', homeCountryCode: 'USA' })).toBe('USA');
    expect(rankCountry({ competitionCountryCode: null, homeCountryCode: null, country: 'Chile' })).toBe('Chile');
    expect(rankCountry({})).toBeNull();
    const rows = [
      row('a', 1500),
      row('b', 2000, { competitionCountryCode: 'IND' }),
      row('c', 1800, { homeCountryCode: null, country: 'IND' }),
      row('d', 1900),
      row('e', 1700, { homeCountryCode: null }),
    ];
    expect(computeRanks(rows).map((r) => [r.globalRank, r.countryRank])).toEqual([
      [5, 2],
      [1, 1],
      [3, 2],
      [2, 1],
      [4, null],
    ]);
  });
});

describe('memberMaxRating', () => {
  const mr = (userId: string, rating: number | null, date: string | null, track = 'DEVELOP', subTrack = 'CODE') => ({
    userId,
    trackId: track,
    typeId: subTrack,
    track,
    subTrack,
    rating,
    mostRecentEventDate: date === null ? null : new Date(date),
  });

  it('highest current rating per member, ties → later mostRecentEventDate, with its colour', () => {
    const out = memberMaxRatings([
      mr('2', 1400, '2024-01-01'),
      mr('1', 1100, '2024-01-01', 'DATA_SCIENCE', 'MARATHON_MATCH'),
      mr('1', 2300, '2023-01-01', 'DEVELOP', 'CODE'),
      mr('2', 1400, '2024-06-01', 'DATA_SCIENCE', 'SRM'),
      mr('2', 1400, null, 'DESIGN', 'X'),
      mr('3', null, '2024-01-01'),
    ]);
    expect(out).toEqual([
      { userId: '1', rating: 2300, track: 'DEVELOP', subTrack: 'CODE', ratingColor: '#EF3A3A' },
      { userId: '2', rating: 1400, track: 'DATA_SCIENCE', subTrack: 'SRM', ratingColor: '#616BD5' },
    ]);
  });

  it('private rows never make the public max rating', () => {
    const out = memberMaxRatings([
      { ...mr('1', 2500, '2024-01-01', 'DEVELOP', 'Challenge'), isPrivate: true },
      mr('1', 1300, '2023-01-01'),
    ]);
    expect(out.map((r) => r.rating)).toEqual([1300]);
    expect(memberMaxRatings([{ ...mr('2', 2500, null), isPrivate: true }])).toEqual([]);
  });

  it('colour bands at their boundaries', () => {
    const colours = [899, 900, 1199, 1200, 1499, 1500, 2199, 2200].map((r) => memberMaxRatings([mr('u', r, null)])[0]!.ratingColor);
    expect(colours).toEqual(['#9D9FA0', '#69C329', '#69C329', '#616BD5', '#616BD5', '#FCD617', '#FCD617', '#EF3A3A']);
  });
});
